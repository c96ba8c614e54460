/**
 * Streaming text out of tokens: whole characters only (a multi-byte UTF-8 character can span
 * tokens), and stop strings recognised across pieces (text that may be the start of a stop
 * string is held back until it is clearly not one).
 */

/** Tokens held back while their text is an incomplete character; beyond this, emit anyway. */
const MAX_PENDING_TOKENS = 4;
/** Earlier tokens given to the detokenizer so word-initial spaces come out right. */
const CONTEXT_TOKENS = 8;
const REPLACEMENT_CHAR = '\uFFFD';

/** `detokenize(tokens, context)` returns the text of `tokens` as it reads after `context`. */
export class TokenTextDecoder<T> {
  private pending: T[] = [];
  private context: T[];

  constructor(
    private readonly detokenize: (tokens: T[], context: T[]) => string,
    context: readonly T[] = [],
  ) {
    this.context = context.slice(-CONTEXT_TOKENS);
  }

  /** The text that `token` completes ('' while a character is still incomplete). */
  push(token: T): string {
    this.pending.push(token);
    const text = this.detokenize(this.pending, this.context);
    if (text.endsWith(REPLACEMENT_CHAR) && this.pending.length < MAX_PENDING_TOKENS) return '';
    this.context = [...this.context, ...this.pending].slice(-CONTEXT_TOKENS);
    this.pending = [];
    return text;
  }

  /** Whatever is still held back. */
  flush(): string {
    if (!this.pending.length) return '';
    const text = this.detokenize(this.pending, this.context);
    this.pending = [];
    return text;
  }
}

export interface StopStep {
  /** Text that is safe to show now. */
  text: string;
  /** A stop string appeared; `text` ends right before it. */
  stopped: boolean;
}

export class StopMatcher {
  private held = '';
  private readonly stops: string[];

  constructor(stops: readonly string[]) {
    this.stops = stops.filter((s) => s.length > 0);
  }

  push(piece: string): StopStep {
    if (!this.stops.length) return { text: piece, stopped: false };
    const buffer = this.held + piece;
    let first = -1;
    for (const stop of this.stops) {
      const at = buffer.indexOf(stop);
      if (at >= 0 && (first < 0 || at < first)) first = at;
    }
    if (first >= 0) {
      this.held = '';
      return { text: buffer.slice(0, first), stopped: true };
    }
    const keep = this.partialStopLength(buffer);
    this.held = buffer.slice(buffer.length - keep);
    return { text: buffer.slice(0, buffer.length - keep), stopped: false };
  }

  /** The held-back text plus `last`, at the end of generation. */
  flush(last = ''): string {
    const step = this.push(last);
    const rest = step.stopped ? '' : this.held;
    this.held = '';
    return step.text + rest;
  }

  /** Length of the longest suffix of `buffer` that is a proper prefix of a stop string. */
  private partialStopLength(buffer: string): number {
    let best = 0;
    for (const stop of this.stops) {
      for (let n = Math.min(stop.length - 1, buffer.length); n > best; n--) {
        if (buffer.endsWith(stop.slice(0, n))) {
          best = n;
          break;
        }
      }
    }
    return best;
  }
}
