/**
 * Where CLI output goes: results on stdout (one JSON document with --json), logs and progress on
 * stderr. Progress draws one bar per step on a TTY and prints sparse lines otherwise (CI logs).
 */
import type { JobOptions, Progress } from '../core/job';
import { formatBytes } from '../core/units';

export interface CliIo {
  /** The command's result, on stdout. */
  out(text: string): void;
  /** Prints a value as the single JSON document on stdout. */
  json(value: unknown): void;
  /** A diagnostic line on stderr. */
  log(line: string): void;
  /** Job options wired to stderr progress and a Ctrl-C signal. */
  job(): JobOptions;
  /**
   * While `handler` is registered, Ctrl-C calls it instead of cancelling the command (a chat stops
   * the reply, not the program). Returns the function that unregisters it. Signals stay in main.ts.
   */
  onInterrupt(handler: () => void): () => void;
}

/** The CLI's io plus what main.ts needs: passing a Ctrl-C to the command's handler, if it has one. */
export interface CliIoControl extends CliIo {
  /** True when a command's handler took the interrupt. */
  dispatchInterrupt(): boolean;
}

export function createCliIo(signal: AbortSignal, stdout = process.stdout, stderr = process.stderr): CliIoControl {
  const bar = new ProgressRenderer(stderr);
  const handlers: (() => void)[] = [];
  return {
    onInterrupt: (handler) => {
      handlers.push(handler);
      return () => {
        const i = handlers.lastIndexOf(handler);
        if (i >= 0) handlers.splice(i, 1);
      };
    },
    dispatchInterrupt: () => {
      const handler = handlers[handlers.length - 1];
      handler?.();
      return handler !== undefined;
    },
    out: (text) => {
      bar.clear();
      stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    },
    json: (value) => {
      bar.clear();
      stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    },
    log: (line) => {
      bar.clear();
      stderr.write(`${line}\n`);
    },
    job: () => ({
      signal,
      onProgress: (p) => bar.update(p),
      log: (line) => {
        bar.clear();
        stderr.write(`${line}\n`);
      },
    }),
  };
}

const BAR_WIDTH = 28;
const LINE_INTERVAL_MS = 2000;

/** Transfer speed is shown once a step has run this long (earlier figures jump around). */
const RATE_WARMUP_MS = 500;

class ProgressRenderer {
  private drawn = false;
  private lastStep = '';
  private lastLineAt = 0;
  /** Where the current byte-counting step started: its speed is measured from there. */
  private rateFrom: { step: string; at: number; done: number } | null = null;

  constructor(private readonly stream: NodeJS.WriteStream) {}

  update(p: Progress): void {
    const text = formatProgress(p, this.rate(p));
    if (this.stream.isTTY) {
      this.stream.write(`\r\x1b[2K${text.slice(0, (this.stream.columns ?? 100) - 1)}`);
      this.drawn = true;
      return;
    }
    // Not a terminal: a line when the step changes, when it completes, and every few seconds.
    const now = Date.now();
    const finished = p.total !== undefined && p.done === p.total;
    if (p.step !== this.lastStep || finished || now - this.lastLineAt >= LINE_INTERVAL_MS) {
      this.stream.write(`${text}\n`);
      this.lastStep = p.step;
      this.lastLineAt = now;
    }
  }

  /** Bytes per second since the step's first event (so bytes resumed from disk do not count). */
  private rate(p: Progress): number | undefined {
    if (p.unit !== 'bytes' || p.done === undefined) return undefined;
    const now = Date.now();
    if (this.rateFrom?.step !== p.step) this.rateFrom = { step: p.step, at: now, done: p.done };
    const elapsed = now - this.rateFrom.at;
    return elapsed >= RATE_WARMUP_MS ? ((p.done - this.rateFrom.done) * 1000) / elapsed : undefined;
  }

  clear(): void {
    if (this.drawn) {
      this.stream.write('\r\x1b[2K');
      this.drawn = false;
    }
  }
}

/** One progress line; `bytesPerSecond` adds the speed to byte-counting steps. */
export function formatProgress(p: Progress, bytesPerSecond?: number): string {
  const parts = [p.step];
  if (p.total !== undefined && p.total > 0 && p.done !== undefined) {
    const fraction = Math.min(1, Math.max(0, p.done / p.total));
    const filled = Math.round(fraction * BAR_WIDTH);
    parts.push(`[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%`);
    parts.push(p.unit === 'bytes' ? `${formatBytes(p.done)}/${formatBytes(p.total)}` : `${p.done}/${p.total}${p.unit ? ` ${p.unit}` : ''}`);
  }
  if (bytesPerSecond !== undefined && bytesPerSecond >= 0) parts.push(`${formatBytes(bytesPerSecond)}/s`);
  if (p.message) parts.push(p.message);
  return parts.join(' ');
}
