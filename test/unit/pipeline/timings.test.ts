import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatTimings, newTimings, otherMs, toolsMs } from '../../../src/core/pipeline/timings';

/** The benchmark's parser of the line (scripts/bench/pipeline.mjs reads quantize's stderr with it); an ES module. */
const benchParser = async () => (await import('../../../scripts/bench/lib/timings-line.mjs')).parseTimingsLine;

test('other is the total less conversion, tools, MLX and evaluation', () => {
  const t = { ...newTimings(), totalMs: 100_000, convertMs: 5_000, mlxMs: 3_000, evaluateMs: 2_000 };
  t.tools.push({ step: 'llama-imatrix', ms: 40_000 }, { step: 'llama-quantize m-Q4_K_M-naive', ms: 30_000 });
  assert.equal(toolsMs(t), 70_000);
  assert.equal(otherMs(t), 20_000);
});

test('the timings line round-trips through the benchmark parser', async () => {
  const parseTimingsLine = await benchParser();
  const t = { ...newTimings(), totalMs: 160_020, convertMs: 1_350 };
  t.tools.push({ step: 'llama-quantize model-Q4_K_M-pajamas', ms: 78_120 }, { step: 'llama-quantize model-Q4_K_M-naive', ms: 75_280 });
  const parsed = parseTimingsLine(formatTimings(t));
  assert.deepEqual(parsed, {
    total: 160.02,
    convert: 1.35,
    tools: 153.4,
    mlx: 0,
    evaluate: 0,
    other: 5.27,
    toolRuns: [
      { step: 'llama-quantize model-Q4_K_M-pajamas', seconds: 78.12 },
      { step: 'llama-quantize model-Q4_K_M-naive', seconds: 75.28 },
    ],
  });
});

test('a run without tool runs and a negative remainder (two clocks) still parse', async () => {
  const parseTimingsLine = await benchParser();
  const parsed = parseTimingsLine(formatTimings({ ...newTimings(), totalMs: 1_000, convertMs: 1_500 }));
  assert.deepEqual(parsed?.toolRuns, []);
  assert.equal(parsed?.other, -0.5);
  assert.equal(parseTimingsLine('timings: total 1 s'), null);
});
