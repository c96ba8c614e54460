/**
 * The plan is a prediction: `naive` must equal what llama-quantize chooses by itself, and the
 * `pajamas` plan, handed to llama-quantize as a tensor-type file, must come out exactly as planned.
 * Checked with --dry-run on synthetic GGUFs whose shapes exercise the recipe's branches.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { convertToGguf } from '../../../src/core/convert';
import { planModel } from '../../../src/core/plan/load';
import { planQuantization } from '../../../src/core/plan/plan';
import { tensorTypeOverrides } from '../../../src/core/plan/quantize-overrides';
import { PLAN_TARGETS, type QuantPlan } from '../../../src/core/plan/types';
import { llamaArch, llamaTensors, type LlamaShape } from '../../fixtures/tensor-lists';
import { dryRunTypes, writeSyntheticGguf } from '../../helpers/dry-run';
import { sharedAsset } from '../../helpers/env';
import { llamaToolsOrSkip } from '../../helpers/llama-tools';
import { tiedModelOrSkip } from '../../fixtures/models/trained/tied-model';

const MODELS: { label: string; ggufArch: string; shape: LlamaShape }[] = [
  { label: 'dense GQA 4:1, 12 layers', ggufArch: 'llama', shape: { layers: 12, hidden: 256, ffn: 768, heads: 8, kvHeads: 2, vocab: 512 } },
  {
    label: 'dense MHA, tied embeddings, 9 layers',
    ggufArch: 'llama',
    shape: { layers: 9, hidden: 512, ffn: 1024, heads: 8, kvHeads: 8, vocab: 300, tied: true },
  },
  {
    label: 'rows that do not split into blocks (dim 64, ffn 172)',
    ggufArch: 'llama',
    shape: { layers: 5, hidden: 64, ffn: 172, heads: 8, kvHeads: 4, vocab: 512 },
  },
  {
    label: 'Mixtral-style, 8 experts',
    ggufArch: 'llama',
    shape: { layers: 8, hidden: 256, ffn: 512, heads: 8, kvHeads: 2, vocab: 320, experts: 8 },
  },
  {
    label: 'Qwen-MoE style, 16 experts + shared expert',
    ggufArch: 'qwen2moe',
    shape: { layers: 10, hidden: 256, ffn: 256, heads: 8, kvHeads: 2, vocab: 320, experts: 16, expertsPerToken: 4, sharedFfn: 512 },
  },
];

function assertPlanMatches(plan: QuantPlan, actual: Map<string, string>, what: string): void {
  assert.equal(actual.size, plan.tensors.length, `${what}: llama-quantize listed ${actual.size} tensors, the plan ${plan.tensors.length}`);
  const wrong = plan.tensors
    .filter((t) => actual.get(t.name) !== t.ggufType)
    .map((t) => `${t.name}: planned ${t.ggufType}, llama.cpp ${actual.get(t.name)}`);
  assert.deepEqual(wrong, [], `${what}: mismatches`);
}

for (const model of MODELS) {
  test(`plan predicts llama-quantize exactly: ${model.label}`, async (t) => {
    const tools = await llamaToolsOrSkip(t);
    if (!tools) return;
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pajamas-dry-run-'));
    try {
      const tensors = llamaTensors(model.shape);
      const arch = llamaArch(model.shape, { modelType: model.ggufArch === 'llama' ? 'llama' : 'qwen2_moe' });
      const input = path.join(dir, 'model-f16.gguf');
      await writeSyntheticGguf(input, model.ggufArch, model.shape, tensors);
      for (const target of PLAN_TARGETS) {
        const naive = planQuantization(arch, tensors, { target, strategy: 'naive' });
        assertPlanMatches(naive, await dryRunTypes(tools, input, target), `naive ${target}`);

        const pajamas = planQuantization(arch, tensors, { target, strategy: 'pajamas' });
        assertPlanMatches(pajamas, await dryRunTypes(tools, input, target, tensorTypeOverrides(pajamas)), `pajamas ${target}`);
        assert.ok(pajamas.totals.sizeBytes <= naive.totals.sizeBytes, `pajamas ${target} is within the stock budget`);
        assert.equal(pajamas.totals.stockSizeBytes, naive.totals.sizeBytes);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}

// The shared models: the plan made from the HF folder (or the GGUF itself) against llama-quantize
// --dry-run on the file the pipeline would quantize.
const SHARED = [
  {
    label: 'stories260K (F32 GGUF input, dim 64: fallbacks everywhere)',
    asset: 'models/stories260K-gguf/stories260K.gguf',
    convert: false,
  },
  { label: 'pajama-tiny-gqa (HF folder, via the F16 conversion)', asset: 'models/pajama-tiny-gqa', convert: true },
  { label: 'pajama-tiny-moe (HF folder, via the F16 conversion)', asset: 'models/pajama-tiny-moe', convert: true },
];

const TRAINED = { label: 'pajama-tied-vocab (tied, rows of 128; trained here, via the F16 conversion)', asset: null, convert: true };

for (const model of [...SHARED, TRAINED]) {
  test(`plan predicts llama-quantize exactly: ${model.label}`, async (t) => {
    const source = model.asset === null ? await tiedModelOrSkip(t) : sharedAsset(t, model.asset);
    if (!source) return;
    const tools = await llamaToolsOrSkip(t);
    if (!tools) return;
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pajamas-dry-run-'));
    try {
      const input = model.convert ? path.join(dir, 'model-f16.gguf') : source;
      if (model.convert) await convertToGguf(source, { outPath: input, outType: 'f16' });
      for (const target of PLAN_TARGETS) {
        const naive = await planModel(source, { target, strategy: 'naive' });
        assertPlanMatches(naive.plan, await dryRunTypes(tools, input, target), `naive ${target}`);
        const pajamas = await planModel(source, { target, strategy: 'pajamas' });
        assertPlanMatches(pajamas.plan, await dryRunTypes(tools, input, target, tensorTypeOverrides(pajamas.plan)), `pajamas ${target}`);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}
