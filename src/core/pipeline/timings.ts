/**
 * Where a quantize run's wall time went: the conversion, each llama.cpp tool run (as runLlamaTool
 * timed it), MLX and evaluation timed whole, and the rest ("other": detection, planning, hashing,
 * verification, manifest writes), which is the pipeline's own overhead. scripts/bench/pipeline.mjs
 * reads the log line this writes; keep its format in step with the parser there.
 */

export interface ToolRunTiming {
  /** What ran, e.g. "llama-quantize model-Q4_K_M-pajamas". */
  step: string;
  ms: number;
}

export interface QuantizeTimings {
  /** Wall time of the whole quantizeModel call. */
  totalMs: number;
  /** HF -> F16 GGUF conversion; 0 when the intermediate was reused or the input is a GGUF. */
  convertMs: number;
  /** llama-imatrix and llama-quantize runs, in order. */
  tools: ToolRunTiming[];
  mlxMs: number;
  evaluateMs: number;
  /**
   * The check of pajamas files against stock, timed whole; its tool runs are also listed in
   * `tools` (so it is not a separate term of the total).
   */
  stockCheckMs: number;
}

export function newTimings(): QuantizeTimings {
  return { totalMs: 0, convertMs: 0, tools: [], mlxMs: 0, evaluateMs: 0, stockCheckMs: 0 };
}

export function toolsMs(t: QuantizeTimings): number {
  return t.tools.reduce((n, r) => n + r.ms, 0);
}

/** totalMs minus every attributed part. */
export function otherMs(t: QuantizeTimings): number {
  return t.totalMs - t.convertMs - toolsMs(t) - t.mlxMs - t.evaluateMs;
}

/** Milliseconds since `startedAt` (a performance.now() reading). */
export function elapsedMs(startedAt: number): number {
  return performance.now() - startedAt;
}

const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

/**
 * One line, e.g. "timings: total 160.02 s = convert 1.35 s + tools 153.40 s + mlx 0.00 s +
 * evaluate 0.00 s + other 5.27 s; tool runs: llama-quantize model-Q4_K_M-pajamas 78.12 s, ...".
 */
export function formatTimings(t: QuantizeTimings): string {
  const parts = [
    `convert ${s(t.convertMs)}`,
    `tools ${s(toolsMs(t))}`,
    `mlx ${s(t.mlxMs)}`,
    `evaluate ${s(t.evaluateMs)}`,
    `other ${s(otherMs(t))}`,
  ];
  const runs = t.tools.length ? t.tools.map((r) => `${r.step} ${s(r.ms)}`).join(', ') : 'none';
  return `timings: total ${s(t.totalMs)} = ${parts.join(' + ')}; tool runs: ${runs}`;
}

/** The check against stock as a share of the run, e.g. "check against stock: 12.30 s of 160.02 s (7.7%)". */
export function formatStockCheckCost(t: QuantizeTimings): string {
  const pct = t.totalMs > 0 ? (100 * t.stockCheckMs) / t.totalMs : 0;
  return `check against stock: ${s(t.stockCheckMs)} of ${s(t.totalMs)} (${pct.toFixed(1)}%)`;
}
