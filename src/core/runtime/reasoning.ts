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
