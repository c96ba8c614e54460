/**
 * Reasoning kept apart from the answer. Harmony models (gpt-oss) write their chain of thought to an
 * "analysis" channel (and tool preambles to "commentary") before the "final" one. The model host's
 * loop streams the reply as text; this module reads the channels from that text, so a caller can
 * show the reasoning dimmed, hide it, or return it next to the answer, and the conversation keeps
 * only the answer.
 */
import type { GenerateResult } from './types';

export interface ReasoningHandlers {
  /** Answer text, as it streams. */
  onToken?: (text: string) => void;
  /** Reasoning text (analysis and commentary messages), as it streams. */
  onReasoning?: (text: string) => void;
}

/**
 * Runs `generate` with its streamed text read as Harmony channels: the result's text is the answer,
 * its `reasoning` the rest (when there was any).
 */
export async function withHarmonyChannels(
  handlers: ReasoningHandlers,
  generate: (onText: (text: string) => void) => Promise<GenerateResult>,
): Promise<GenerateResult> {
  const channels = new HarmonyTextSplitter(handlers);
  const reply = await generate((text) => channels.push(text));
  channels.flush();
  return { ...reply, text: channels.answer, ...(channels.reasoning ? { reasoning: channels.reasoning } : {}) };
}

/**
 * Harmony's channels read from the reply's text, for generation loops that detokenize it
 * themselves: llama.cpp always renders `<|start|>`, `<|channel|>`, `<|message|>` and
 * `<|constrain|>` as text (its gpt-oss exception), while `<|end|>` and `<|return|>` render only as
 * special tokens. A reply reads `<|channel|>analysis<|message|>...<|start|>assistant<|channel|>final
 * <|message|>...`: headers are dropped, "analysis" and "commentary" messages are reasoning, "final"
 * messages and text outside any header the answer. A marker split across pieces is held back until
 * it is whole or clearly not a marker.
 */
export class HarmonyTextSplitter {
  private pending = '';
  private inHeader = false;
  private channel = '';
  private reasoningText = '';
  private answerText = '';

  constructor(private readonly handlers: ReasoningHandlers) {}

  push(text: string): void {
    this.pending += text;
    for (;;) {
      const at = this.pending.indexOf('<|');
      if (at < 0) {
        const keep = this.pending.endsWith('<') ? 1 : 0; // perhaps the start of a marker
        this.emit(this.pending.slice(0, this.pending.length - keep));
        this.pending = this.pending.slice(this.pending.length - keep);
        return;
      }
      this.emit(this.pending.slice(0, at));
      this.pending = this.pending.slice(at);
      const marker = HARMONY_MARKERS.find((m) => this.pending.startsWith(m));
      if (marker) {
        this.pending = this.pending.slice(marker.length);
        this.mark(marker);
      } else if (HARMONY_MARKERS.some((m) => m.startsWith(this.pending))) {
        return; // maybe the start of a marker: wait for more text
      } else {
        this.emit('<|');
        this.pending = this.pending.slice(2);
      }
    }
  }

  /** Text still held back (an unfinished marker at the very end) is text after all. */
  flush(): void {
    this.emit(this.pending);
    this.pending = '';
  }

  get answer(): string {
    return this.answerText;
  }

  get reasoning(): string {
    return this.reasoningText;
  }

  private mark(marker: string): void {
    switch (marker) {
      case '<|message|>':
        this.inHeader = false;
        this.channel = this.channel.trim().split(/\s/)[0] ?? '';
        break;
      case '<|end|>':
      case '<|return|>':
        this.inHeader = false;
        this.channel = '';
        break;
      case '<|constrain|>':
        this.channel += ' '; // a format name follows the channel's, up to <|message|>
        break;
      default:
        // <|start|> (a role follows) or <|channel|> (a channel name follows): a header begins.
        this.inHeader = true;
        this.channel = '';
    }
  }

  private emit(text: string): void {
    if (!text) return;
    if (this.inHeader) {
      this.channel += text;
      return;
    }
    if (REASONING_CHANNELS.has(this.channel)) {
      this.reasoningText += text;
      this.handlers.onReasoning?.(text);
    } else {
      this.answerText += text;
      this.handlers.onToken?.(text);
    }
  }
}

const HARMONY_MARKERS = ['<|start|>', '<|channel|>', '<|message|>', '<|constrain|>', '<|end|>', '<|return|>'];
const REASONING_CHANNELS: ReadonlySet<string> = new Set(['analysis', 'commentary']);
