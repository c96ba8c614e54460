// Parses the "timings:" line `pajamas quantize` logs at the end of a run (written by formatTimings
// in src/core/pipeline/timings.ts; test/unit/pipeline/timings.test.ts keeps the two in step).

const TIMINGS = new RegExp(
  String.raw`^timings: total ([\d.]+) s = convert ([\d.]+) s \+ tools ([\d.]+) s \+ mlx ([\d.]+) s` +
    String.raw` \+ evaluate ([\d.]+) s \+ other (-?[\d.]+) s; tool runs: (.*)$`,
);

/** Seconds: {total, convert, tools, mlx, evaluate, other, toolRuns: [{step, seconds}]}, or null. */
export function parseTimingsLine(line) {
  const m = TIMINGS.exec(line);
  if (!m) return null;
  const [total, convert, tools, mlx, evaluate, other] = m.slice(1, 7).map(Number);
  const toolRuns =
    m[7] === 'none'
      ? []
      : m[7].split(', ').map((run) => {
          const r = /^(.*) ([\d.]+) s$/.exec(run);
          return { step: r[1], seconds: Number(r[2]) };
        });
  return { total, convert, tools, mlx, evaluate, other, toolRuns };
}
