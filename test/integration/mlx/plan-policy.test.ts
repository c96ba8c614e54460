/**
 * The plan drives the MLX writer: planModel's per-tensor `mlx` (keyed by HF names, experts listed
 * one by one) reaches every weight of the shared tiny models, with the pajamas rules (embeddings
 * and lm_head at 6 bits or more, routers at 8) and naive's one width.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { mlxPolicyFromPlan } from '../../../src/core/mlx/policy';
import { writeMlxModel } from '../../../src/core/mlx/writer';
import { planModel } from '../../../src/core/plan/load';
import { sharedAsset } from '../../helpers/env';

let work: string;
before(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'pajamas-mlx-plan-'));
});
after(() => rmSync(work, { recursive: true, force: true }));

for (const name of ['pajama-tiny-gqa', 'pajama-tiny-moe']) {
  describe(`plan-driven MLX output of ${name}`, () => {
    it('pajamas: every weight planned, embeddings and lm_head >= 6 bits, routers 8, body >= 4', async (t) => {
      const dir = sharedAsset(t, `models/${name}`);
      if (!dir) return;
      const { plan } = await planModel(dir, { target: 'Q4_K_M', strategy: 'pajamas' });
      const unplanned: string[] = [];
      const out = path.join(work, `${name}-pajamas`);
      const result = await writeMlxModel(dir, out, mlxPolicyFromPlan(plan, unplanned));
      assert.deepEqual(unplanned, []);
      for (const w of result.weights) {
        assert.ok(w.quant, `${w.modulePath} quantized`);
        if (/(embed_tokens|lm_head)$/.test(w.modulePath)) assert.ok(w.quant.bits >= 6, `${w.modulePath}: ${w.quant.bits} bits`);
        else if (/block_sparse_moe\.gate$/.test(w.modulePath)) assert.equal(w.quant.bits, 8, w.modulePath);
        else assert.ok(w.quant.bits >= 4, `${w.modulePath}: ${w.quant.bits} bits`);
      }
      const config = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'));
      assert.deepEqual([config.quantization.bits, config.quantization.group_size], [plan.mlxDefault.bits, plan.mlxDefault.groupSize]);
    });

    it('naive: one width everywhere, no per-layer entries', async (t) => {
      const dir = sharedAsset(t, `models/${name}`);
      if (!dir) return;
      const { plan } = await planModel(dir, { target: 'Q4_K_M', strategy: 'naive', mlxBits: 3, mlxGroupSize: 32 });
      const result = await writeMlxModel(dir, path.join(work, `${name}-naive`), mlxPolicyFromPlan(plan));
      assert.ok(result.weights.every((w) => w.quant?.bits === 3 && w.quant.groupSize === 32));
      assert.deepEqual(result.quantization, { group_size: 32, bits: 3, mode: 'affine' });
    });
  });
}
