/**
 * gpt-oss against llama-quantize: the naive plan must equal what llama.cpp chooses by itself at
 * every target, MXFP4_MOE included, on gpt-oss-shaped files whose experts are already MXFP4 (as
 * released) or dequantized; the pajamas plan, handed over as a tensor-type file, must come out as
 * planned. Real quantizations then show that no plan hands llama-quantize something it aborts on
 * (already-MXFP4 experts need --allow-requantize for K-quants; 288-wide rows, like the real 2880,
 * do not split into 256-value blocks and fall back).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { detectFromConfig } from '../../../src/core/arch/from-config';
import { convertToGguf } from '../../../src/core/convert';
import { readGgufHeader } from '../../../src/core/formats/gguf';
import type { JsonObject } from '../../../src/core/hf/config';
import { quantizeByPlan, requantizes } from '../../../src/core/pipeline/quantize-gguf';
import { planModel } from '../../../src/core/plan/load';
import { planQuantization } from '../../../src/core/plan/plan';
import { tensorTypeOverrides } from '../../../src/core/plan/quantize-overrides';
import { PLAN_TARGETS, type QuantPlan } from '../../../src/core/plan/types';
import { buildTinyModel } from '../../fixtures/models/tiny-models';
import { gptOssConfig, gptOssTensors, type GptOssShape } from '../../fixtures/tensor-lists';
import { dryRunTypes, writeSyntheticGptOss } from '../../helpers/dry-run';
import { llamaToolsOrSkip } from '../../helpers/llama-tools';

const SHAPES: { label: string; shape: GptOssShape; quantize?: boolean }[] = [
  {
    label: 'MXFP4 experts, 288-wide rows (9 x 32, like the real 2880: no 256-value blocks)',
    shape: { layers: 8, hidden: 288, heads: 8, kvHeads: 2, headDim: 32, ffn: 288, experts: 4, vocab: 512, expertType: 'MXFP4' },
    quantize: true,
  },
  {
    label: 'dequantized (F16) experts, 288-wide rows',
    shape: { layers: 8, hidden: 288, heads: 8, kvHeads: 2, headDim: 32, ffn: 288, experts: 4, vocab: 512, expertType: 'F16' },
    quantize: true,
  },
  {
    label: "MXFP4 experts, 8 experts (llama.cpp's 8-expert rules), every row in 256-value blocks",
    shape: { layers: 6, hidden: 256, heads: 4, kvHeads: 1, headDim: 64, ffn: 512, experts: 8, vocab: 512, expertType: 'MXFP4' },
  },
];

function assertPlanMatches(plan: QuantPlan, actual: Map<string, string>, what: string): void {
  assert.equal(actual.size, plan.tensors.length, `${what}: llama-quantize listed ${actual.size} tensors, the plan ${plan.tensors.length}`);
  const wrong = plan.tensors
    .filter((t) => actual.get(t.name) !== t.ggufType)
    .map((t) => `${t.name}: planned ${t.ggufType}, llama.cpp ${actual.get(t.name)}`);
  assert.deepEqual(wrong, [], `${what}: mismatches`);
}

for (const { label, shape, quantize } of SHAPES) {
  test(`gpt-oss plans predict llama-quantize exactly: ${label}`, async (t) => {
    const tools = await llamaToolsOrSkip(t);
    if (!tools) return;
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pajamas-gpt-oss-dry-run-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const arch = detectFromConfig(gptOssConfig(shape) as JsonObject, 'test');
    const tensors = gptOssTensors(shape);
    const input = path.join(dir, 'model-f16.gguf');
    await writeSyntheticGptOss(input, shape, tensors);
    for (const target of PLAN_TARGETS) {
      const naive = planQuantization(arch, tensors, { target, strategy: 'naive' });
      assertPlanMatches(naive, await dryRunTypes(tools, input, target), `naive ${target}`);
      const pajamas = planQuantization(arch, tensors, { target, strategy: 'pajamas' });
      assertPlanMatches(pajamas, await dryRunTypes(tools, input, target, tensorTypeOverrides(pajamas)), `pajamas ${target}`);
      assert.ok(pajamas.totals.sizeBytes <= naive.totals.sizeBytes, `pajamas ${target} is within the stock budget`);
      for (const x of pajamas.tensors.filter((x) => /_exps\.weight$/.test(x.name))) assert.equal(x.ggufType, 'MXFP4', x.name);
      assert.equal(requantizes(pajamas), false, `pajamas ${target} never re-rounds MXFP4 experts`);
      if (!quantize) continue;
      for (const plan of [naive, pajamas]) {
        // quantizeByPlan reads the output back and fails on any tensor that differs from the plan.
        const out = path.join(dir, `${plan.target}-${plan.strategy}.gguf`);
        const result = await quantizeByPlan({ tools, input, plan, outPath: out, imatrixPath: null });
        assert.equal(result.sizeBytes > 0, true);
        await rm(out);
      }
    }
  });
}

test('gpt-oss random checkpoint (MXFP4 experts): plans from the HF folder predict llama-quantize on its F16 conversion', async (t) => {
  const tools = await llamaToolsOrSkip(t);
  if (!tools) return;
  const model = buildTinyModel('gpt_oss', { dtype: 'BF16' });
  t.after(() => rm(model.dir, { recursive: true, force: true }));
  const input = path.join(model.dir, 'model-f16.gguf');
  await convertToGguf(model.dir, { outPath: input, outType: 'f16' });
  const types = new Map((await readGgufHeader(input)).tensors.map((x) => [x.name, x.type]));
  for (const target of PLAN_TARGETS) {
    const naive = await planModel(model.dir, { target, strategy: 'naive' });
    for (const x of naive.plan.tensors) assert.equal(x.sourceType, types.get(x.name), `${x.name} source type`);
    assertPlanMatches(naive.plan, await dryRunTypes(tools, input, target), `naive ${target}`);
    const pajamas = await planModel(model.dir, { target, strategy: 'pajamas' });
    assertPlanMatches(pajamas.plan, await dryRunTypes(tools, input, target, tensorTypeOverrides(pajamas.plan)), `pajamas ${target}`);
  }
});
