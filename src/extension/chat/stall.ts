/**
 * The extension host's worst event-loop stall while a reply streams: Node's event-loop delay
 * histogram (perf_hooks), started when a reply starts and read when it ends. Streaming must never
 * stall the host (the bound is 50 ms); every reply's figure is shown under it.
 */
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';

/** Sampling resolution of the histogram, ms. */
const RESOLUTION_MS = 10;

export class StallMonitor {
  private histogram: IntervalHistogram | undefined;

  start(): void {
    this.histogram?.disable();
    this.histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    this.histogram.enable();
  }

  /** Stops measuring; the worst delay since start() in ms (0 when not started). */
  stop(): number {
    const h = this.histogram;
    this.histogram = undefined;
    if (!h) return 0;
    h.disable();
    // Each sample is the time between two ticks of a RESOLUTION_MS timer: what exceeds it is the stall.
    return h.count ? Math.max(0, h.max / 1e6 - RESOLUTION_MS) : 0;
  }

  dispose(): void {
    this.histogram?.disable();
  }
}
