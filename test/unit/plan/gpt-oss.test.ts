import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { detectFromConfig } from '../../../src/core/arch/from-config';
import { impliedTensors } from '../../../src/core/arch/implied-tensors';
import { modelTensorsFromSafetensors } from '../../../src/core/convert';
import { openSafetensorsModel } from '../../../src/core/formats/safetensors';
import { typeBits } from '../../../src/core/formats/ggml-types';
import type { JsonObject } from '../../../src/core/hf/config';
import { requantizes } from '../../../src/core/pipeline/quantize-gguf';
import { planQuantization } from '../../../src/core/plan/plan';
import { PLAN_TARGETS, type PlanTarget } from '../../../src/core/plan/types';
import { buildTinyModel } from '../../fixtures/models/tiny-models';
import { gptOssConfig, gptOssTensors, type GptOssShape } from '../../fixtures/tensor-lists';

/** gpt-oss-20b's widths scaled down 10x: 2880 -> 288 (rows that do not split into 256-value blocks). */
const SHAPE: GptOssShape = {
  layers: 8,
  hidden: 288,
  heads: 8,
  kvHeads: 2,
  headDim: 32,
  ffn: 288,
  experts: 8,
  vocab: 2048,
  expertType: 'MXFP4',
};

function model(shape: GptOssShape) {
  return { arch: detectFromConfig(gptOssConfig(shape) as JsonObject, 'test'), tensors: gptOssTensors(shape) };
}

function plan(shape: GptOssShape, target: PlanTarget, strategy: 'pajamas' | 'naive') {
  const { arch, tensors } = model(shape);
  return planQuantization(arch, tensors, { target, strategy });
}

test('gpt-oss experts stay MXFP4 at every target, from MXFP4 or dequantized sources; naive requantizes at K-quant targets', () => {
  for (const expertType of ['MXFP4', 'F16'] as const) {
    for (const target of PLAN_TARGETS) {
      const pajamas = plan({ ...SHAPE, expertType }, target, 'pajamas');
      const naive = plan({ ...SHAPE, expertType }, target, 'naive');
      for (const t of pajamas.tensors.filter((x) => /_exps\.weight$/.test(x.name))) {
        assert.equal(t.ggufType, 'MXFP4', `${expertType} ${target} ${t.name}`);
        assert.match(t.reason, expertType === 'MXFP4' ? /kept MXFP4, the experts' released precision/ : /native precision/);
      }
      assert.equal(requantizes(pajamas), false);
      assert.ok(pajamas.totals.sizeBytes <= naive.totals.sizeBytes, `${target}: pajamas within the stock size`);
      if (expertType === 'MXFP4') assert.equal(requantizes(naive), target !== 'MXFP4_MOE', `naive ${target} requantizes the experts`);
    }
  }
});

const AT_Q4_K_M =
  'gpt-oss at the Q4_K_M budget: every tensor at least as precise as llama.cpp MXFP4_MOE, the freed bytes on attention and embeddings';
test(AT_Q4_K_M, () => {
  const pajamas = plan(SHAPE, 'Q4_K_M', 'pajamas');
  const mxfp4Moe = new Map(plan(SHAPE, 'MXFP4_MOE', 'naive').tensors.map((t) => [t.name, t]));
  let above = 0;
  for (const t of pajamas.tensors) {
    const ref = mxfp4Moe.get(t.name)!;
    assert.ok(typeBits(t.ggufType) >= typeBits(ref.ggufType), `${t.name}: ${t.ggufType} vs MXFP4_MOE ${ref.ggufType}`);
    if (typeBits(t.ggufType) > typeBits(ref.ggufType)) above++;
  }
  assert.ok(above > 0, 'the bytes the experts free go somewhere');
  const f16 = pajamas.tensors.filter((t) => t.ggufType === 'F16');
  assert.ok(f16.length > 0 && f16.every((t) => /^(attn_|token_embd|output)/.test(t.kind)), f16.map((t) => t.name).join(', '));
});

test('gpt-oss reasons: sinks, full versus sliding layers, router, embeddings and output', () => {
  const t = new Map(plan(SHAPE, 'Q4_K_M', 'pajamas').tensors.map((x) => [x.name, x]));
  assert.match(t.get('blk.3.attn_k.weight')!.reason, /learned attention sinks.*\(x1\.5\)/);
  assert.match(t.get('blk.3.attn_k.weight')!.reason, /global-attention layer among sliding-window layers \(x2\)/);
  assert.doesNotMatch(t.get('blk.2.attn_k.weight')!.reason, /global-attention/);
  assert.doesNotMatch(t.get('blk.2.attn_v.weight')!.reason, /sinks/);
  assert.match(t.get('blk.2.attn_sinks.weight')!.reason, /attention sinks: kept F32/);
  assert.match(t.get('blk.2.ffn_gate_inp.weight')!.reason, /MoE router: kept F32/);
  assert.match(t.get('token_embd.weight')!.reason, /the embedding feeds every layer/);
  assert.match(t.get('output.weight')!.reason, /the output head writes the logits/);
});

test('gpt-oss tensors implied by a bare config equal the converted checkpoint, MXFP4 experts included', async (t) => {
  const m = buildTinyModel('gpt_oss');
  t.after(() => rmSync(m.dir, { recursive: true, force: true }));
  const arch = detectFromConfig(m.config as JsonObject, m.dir);
  const fromWeights = modelTensorsFromSafetensors(arch, m.config as JsonObject, await openSafetensorsModel(m.dir));
  const key = (x: { name: string; shape: number[]; sourceDtype?: string }) =>
    `${x.name} [${x.shape.join(', ')}]${x.sourceDtype === 'MXFP4' ? ' MXFP4' : ''}`;
  assert.deepEqual(
    impliedTensors(arch, m.config as JsonObject)
      .map(key)
      .sort(),
    fromWeights.map(key).sort(),
  );
});
