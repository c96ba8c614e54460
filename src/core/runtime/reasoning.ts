/**
 * Reasoning kept apart from the answer. Harmony models (gpt-oss) write their chain of thought to an
 * "analysis" channel before the "final" one; node-llama-cpp's Harmony chat wrapper reports those
 * parts as "thought" segments (and "commentary" as "comment" segments) in its response chunks,
 * while plain text chunks are the answer. This router sends each kind to its own callback and keeps
 * the reasoning text, so a caller can show it dimmed, hide it, or return it next to the answer.
 */

/** A node-llama-cpp response chunk, as much of it as the router reads. */
export interface ResponseChunk {
  /** "segment" for reasoning and commentary; undefined for the answer. */
  type?: string;
  /** "thought" (Harmony's analysis channel) or "comment" (its commentary channel). */
  segmentType?: string;
  text: string;
}

export interface ReasoningHandlers {
  /** Answer text, as it streams. */
  onToken?: (text: string) => void;
  /** Reasoning text (thought and commentary segments), as it streams. */
  onReasoning?: (text: string) => void;
}

export class ReasoningRouter {
  private reasoningText = '';

  constructor(private readonly handlers: ReasoningHandlers) {}

  /** Routes one chunk; pass it as node-llama-cpp's `onResponseChunk`. */
  chunk(c: ResponseChunk): void {
    if (!c.text) return;
    if (c.type === 'segment') {
      this.reasoningText += c.text;
      this.handlers.onReasoning?.(c.text);
    } else {
      this.handlers.onToken?.(c.text);
    }
  }

  /** All reasoning text so far ('' when the model gave none). */
  get reasoning(): string {
    return this.reasoningText;
  }
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
