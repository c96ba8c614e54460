/** The Strategy view's per-layer summary of a plan (the bit-width strip and the layer rows). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PlannedTensor, QuantPlan } from '../../../src/core/plan/types';
import { bpw, groupByLayer, UNQUANTIZED_MLX_BITS } from '../../../webview-ui/strategy/layers';

function tensor(name: string, layer: number | null, n: number, bytes: number, stockBytes: number, mlxBits: number | null): PlannedTensor {
  return {
    name,
    hfName: null,
    shape: [n],
    kind: 'other',
    layer,
    sourceType: 'F16',
    ggufType: bytes === stockBytes ? 'Q4_K' : 'Q6_K',
    stockType: 'Q4_K',
    fallback: null,
    mlx: mlxBits === null ? null : { bits: mlxBits, groupSize: 64 },
    reason: '',
    bytes,
    stockBytes,
  };
}

test('groupByLayer sums each layer and weighs MLX bits by parameters', () => {
  const plan = {
    tensors: [
      tensor('blk.1.a', 1, 1000, 500, 500, 4),
      tensor('token_embd', null, 4000, 3000, 3000, 6),
      tensor('blk.0.a', 0, 1000, 800, 500, 8),
      tensor('blk.0.norm', 0, 10, 40, 40, null),
    ],
  } as unknown as QuantPlan;
  const groups = groupByLayer(plan);
  assert.deepEqual(
    groups.map((g) => g.layer),
    [null, 0, 1],
  );
  const layer0 = groups[1]!;
  assert.equal(layer0.params, 1010);
  assert.equal(layer0.bytes, 840);
  assert.equal(layer0.stockBytes, 540);
  assert.equal(layer0.differs, 1);
  assert.ok(Math.abs(layer0.mlxBits - (1000 * 8 + 10 * UNQUANTIZED_MLX_BITS) / 1010) < 1e-12);
  assert.equal(bpw(layer0.bytes, layer0.params), (840 * 8) / 1010);
  assert.equal(bpw(5, 0), 0);
});
