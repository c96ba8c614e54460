/**
 * The plan on every real config in ../shared/fixtures/configs (tensor lists implied by the config):
 * dense, MoE, MLA, hybrid SSM / linear attention, alternating windows, multimodal wrappers. Every
 * target stays within llama.cpp's stock size and every tensor gets a type and a reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { planModel } from '../../../src/core/plan/load';
import { PLAN_TARGETS } from '../../../src/core/plan/types';
import { sharedAsset } from '../../helpers/env';

test('every fixture config plans within the stock budget at every target', async (t) => {
  const dir = sharedAsset(t, 'fixtures/configs');
  if (!dir) return;
  const configs = readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'labels.json' && !f.startsWith('malformed'));
  assert.ok(configs.length >= 20, `found ${configs.length} configs`);
  for (const file of configs) {
    for (const target of PLAN_TARGETS) {
      const { plan, origin } = await planModel(path.join(dir, file), { target, strategy: 'pajamas' });
      assert.equal(origin, 'config');
      assert.ok(plan.tensors.length > 0, `${file}: tensors listed`);
      assert.ok(
        plan.totals.sizeBytes <= plan.totals.stockSizeBytes,
        `${file} ${target}: ${plan.totals.sizeBytes} <= ${plan.totals.stockSizeBytes}`,
      );
      for (const x of plan.tensors) assert.ok(x.reason.length > 0, `${file}: ${x.name} has a reason`);
    }
  }
});
