/**
 * Streams generated text to the parent in batches: the first piece at once (the reply starts
 * without delay), then whatever accumulated, at most once per interval. A message per token would
 * wake the parent (and, in VS Code, the chat view) hundreds of times a second on a small model,
 * which costs the host CPU time that generation needs on a machine with few cores.
 */
export class TextBatcher {
  private pending = '';
  private lastFlush = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly send: (text: string) => void,
    private readonly intervalMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  push(text: string): void {
    if (!text) return;
    this.pending += text;
    if (this.timer) return;
    const wait = this.lastFlush + this.intervalMs - this.now();
    if (wait <= 0) this.flush();
    else this.timer = setTimeout(() => this.flush(), wait);
  }

  /** Sends what is pending now (call before the final reply, so the text precedes it). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.pending) return;
    const text = this.pending;
    this.pending = '';
    this.lastFlush = this.now();
    this.send(text);
  }
}
