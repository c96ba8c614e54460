/**
 * detectArchitecture on each kind of input: HF folders (parameters from the safetensors headers),
 * config.json paths, GGUF folders, Hub repo ids (offline), and bad inputs.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { detectArchitecture } from '../../../src/core/arch/detect';
import { detectFromConfig } from '../../../src/core/arch/from-config';
import { CancelledError, FailureError, UsageError } from '../../../src/core/errors';
import { parseConfigJson } from '../../../src/core/hf/config';
import { tempDir } from '../../fixtures/bytes';
import { buildGguf, T } from '../../fixtures/gguf-builder';
import { buildSafetensors, type FixtureSafetensor } from '../../fixtures/safetensors-builder';
import { sharedAsset } from '../../helpers/env';

const H = 8;
const FFN = 16;
const VOCAB = 10;
const CONFIG = {
  model_type: 'llama',
  hidden_size: H,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  intermediate_size: FFN,
  vocab_size: VOCAB,
  max_position_embeddings: 32,
  tie_word_embeddings: true,
};

function st(name: string, shape: number[], dtype = 'BF16'): FixtureSafetensor {
  const bytes = dtype === 'F32' || dtype === 'I32' ? 4 : dtype === 'U8' ? 1 : 2;
  return { name, dtype, shape, data: new Uint8Array(shape.reduce((a, b) => a * b, 1) * bytes) };
}

/** The HF tensors of CONFIG (tied, so no lm_head). */
function llamaWeights(): FixtureSafetensor[] {
  const p = 'model.layers.0.';
  return [
    st('model.embed_tokens.weight', [VOCAB, H]),
    st(`${p}input_layernorm.weight`, [H]),
    st(`${p}self_attn.q_proj.weight`, [H, H]),
    st(`${p}self_attn.k_proj.weight`, [4, H]),
    st(`${p}self_attn.v_proj.weight`, [4, H]),
    st(`${p}self_attn.o_proj.weight`, [H, H]),
    st(`${p}post_attention_layernorm.weight`, [H]),
    st(`${p}mlp.gate_proj.weight`, [FFN, H]),
    st(`${p}mlp.up_proj.weight`, [FFN, H]),
    st(`${p}mlp.down_proj.weight`, [H, FFN]),
    st('model.norm.weight', [H]),
  ];
}

function modelFolder(t: Parameters<typeof tempDir>[0], config: object, tensors: FixtureSafetensor[] | null): string {
  const dir = tempDir(t);
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  if (tensors) writeFileSync(path.join(dir, 'model.safetensors'), buildSafetensors(tensors));
  return dir;
}

test('a folder with weights: parameters counted from the safetensors shapes', async (t) => {
  const dir = modelFolder(t, CONFIG, llamaWeights());
  const info = await detectArchitecture(dir);
  assert.equal(info.parametersSource, 'weights');
  assert.equal(info.source, dir);
  const computed = detectFromConfig(CONFIG, 'c').parameters;
  assert.deepEqual(info.parameters, computed, 'the weights agree with the implied tensor list');
  assert.equal(computed.total, VOCAB * H + 2 * H + 2 * H * H + 2 * 4 * H + 3 * H * FFN + H);
  assert.deepEqual(info.warnings, []);
  // The folder's own config.json stands for the folder.
  assert.equal((await detectArchitecture(path.join(dir, 'config.json'))).parametersSource, 'weights');
});

test('weights: vision towers, MTP layers, quantization scales, a duplicate tied head are not parameters', async (t) => {
  const extra = [
    st('model.vision_tower.blocks.0.proj.weight', [H, H]),
    st('visual.merger.mlp.0.weight', [H, H]),
    st('model.layers.1.self_attn.q_proj.weight', [H, H]), // an MTP layer past num_hidden_layers
    st('mtp.layers.0.eh_proj.weight', [H, 2 * H]),
    st('model.layers.0.mlp.gate_proj.weight_scale_inv', [1, 1], 'F32'),
    st('lm_head.weight', [VOCAB, H]),
  ];
  const info = await detectArchitecture(modelFolder(t, CONFIG, [...llamaWeights(), ...extra]));
  assert.equal(info.parameters.total, detectFromConfig(CONFIG, 'c').parameters.total);
  assert.ok(info.warnings.some((w) => /2 vision\/audio tensors are not counted/.test(w)));
});

test('weights: packed MXFP4 experts are unpacked by count; active excludes unused experts', async (t) => {
  const config = {
    ...CONFIG,
    model_type: 'gpt_oss',
    num_local_experts: 4,
    num_experts_per_tok: 1,
    quantization_config: { quant_method: 'mxfp4' },
  };
  const p = 'model.layers.0.';
  const weights = [
    ...llamaWeights().filter((w) => !w.name.includes('mlp.')),
    st(`${p}mlp.router.weight`, [4, H]),
    // 4 experts x 2*FFN rows x H columns, as 32-value blocks of 16 bytes
    st(`${p}mlp.experts.gate_up_proj_blocks`, [4, 2 * FFN, 1, 16], 'U8'),
    st(`${p}mlp.experts.gate_up_proj_scales`, [4, 2 * FFN, 1], 'U8'),
  ];
  const info = await detectArchitecture(modelFolder(t, config, weights));
  const experts = 4 * 2 * FFN * 32; // one 32-value block per row in this tiny fixture
  const rest = VOCAB * H + 2 * H + 2 * H * H + 2 * 4 * H + 4 * H + H;
  assert.equal(info.parameters.total, rest + experts);
  assert.equal(info.parameters.active, rest + experts / 4);
  assert.ok(info.warnings.some((w) => /packed \(quantized\)/.test(w)));
  assert.ok(
    info.warnings.some((w) => /the config implies/.test(w)),
    'a count far from the config is flagged',
  );
});

test('a folder without weights, or a config.json elsewhere: computed from the config', async (t) => {
  const dir = modelFolder(t, CONFIG, null);
  const info = await detectArchitecture(dir);
  assert.equal(info.parametersSource, 'computed');
  const loose = path.join(dir, 'other.json');
  writeFileSync(loose, JSON.stringify(CONFIG));
  assert.equal((await detectArchitecture(loose)).source, loose);
});

test('a folder with only a GGUF is read from the GGUF', async (t) => {
  const dir = tempDir(t);
  const kvs = [
    { key: 'general.architecture', type: T.str, value: 'llama' },
    { key: 'llama.block_count', type: T.u32, value: 1 },
    // detect runs the GGUF pre-flight check, which wants the keys llama.cpp requires.
    { key: 'llama.context_length', type: T.u32, value: 64 },
    { key: 'llama.embedding_length', type: T.u32, value: 4 },
    { key: 'llama.attention.head_count', type: T.u32, value: 1 },
  ];
  writeFileSync(path.join(dir, 'model-Q4_K_M.gguf'), buildGguf({ kvs }));
  writeFileSync(path.join(dir, 'mmproj-model-f16.gguf'), buildGguf({ kvs }));
  assert.equal((await detectArchitecture(dir)).parametersSource, 'weights');
  writeFileSync(path.join(dir, 'model-Q8_0.gguf'), buildGguf({ kvs }));
  await assert.rejects(
    detectArchitecture(dir),
    (e: unknown) => e instanceof FailureError && /no config.json; it has 2 .gguf files/.test(e.message),
  );
});

test('bad inputs: clear errors before any heavy work', async (t) => {
  const dir = tempDir(t);
  await assert.rejects(
    detectArchitecture(path.join(dir, 'nope')),
    (e: unknown) => e instanceof UsageError && /no such file or folder/.test(e.message),
  );
  await assert.rejects(detectArchitecture(''), UsageError);
  mkdirSync(path.join(dir, 'empty'));
  await assert.rejects(detectArchitecture(path.join(dir, 'empty')), /has no config.json; pass a Hugging Face model folder/);
  writeFileSync(path.join(dir, 'weights.bin'), 'x');
  await assert.rejects(detectArchitecture(path.join(dir, 'weights.bin')), /not a model folder, config.json or .gguf file/);
  const aborted = new AbortController();
  aborted.abort();
  await assert.rejects(detectArchitecture(dir, { signal: aborted.signal }), CancelledError);
});

test('a Hub repo id when the Hub is unreachable: a FailureError that says to pass a local folder', async (t) => {
  const saved = process.env.HF_ENDPOINT;
  process.env.HF_ENDPOINT = 'http://127.0.0.1:9'; // nothing listens there: as offline as it gets
  t.after(() => (saved === undefined ? delete process.env.HF_ENDPOINT : (process.env.HF_ENDPOINT = saved)));
  await assert.rejects(
    detectArchitecture('some-org/some-model'),
    (e: unknown) => e instanceof FailureError && /Hugging Face Hub/.test(e.message) && /pass a local model folder/.test(e.message),
  );
});

for (const [name, params] of [
  ['pajama-tiny-gqa', 4_787_456],
  ['pajama-tiny-moe', 10_697_984],
] as const) {
  test(`${name}: parameters from the weights equal TRAINING.json`, async (t) => {
    const dir = sharedAsset(t, `models/${name}`);
    if (!dir) return;
    const training = JSON.parse(readFileSync(path.join(dir, 'TRAINING.json'), 'utf8')) as { params: number };
    assert.equal(training.params, params);
    const info = await detectArchitecture(dir);
    assert.equal(info.parametersSource, 'weights');
    assert.equal(info.parameters.total, training.params);
    assert.equal(info.attention, 'gqa');
    assert.equal(info.gqaRatio, 4);
    assert.equal(info.tiedEmbeddings, false);
    const config = parseConfigJson(readFileSync(path.join(dir, 'config.json'), 'utf8'));
    assert.deepEqual(detectFromConfig(config, dir).parameters, info.parameters, 'computed from the config: the same count');
    if (name === 'pajama-tiny-moe') {
      assert.equal(info.family, 'moe');
      assert.deepEqual([info.moe?.numExperts, info.moe?.numExpertsPerToken], [8, 2]);
      const experts = info.numLayers * 8 * 3 * info.hiddenSize * info.moe!.expertIntermediateSize;
      assert.equal(info.parameters.active, info.parameters.total - (experts * 6) / 8);
    } else {
      assert.equal(info.family, 'dense');
      assert.equal(info.parameters.active, info.parameters.total);
    }
  });
}

test('stories260K-hf: the same model as the GGUF, tied in HF form', async (t) => {
  const dir = sharedAsset(t, 'models/stories260K-hf');
  if (!dir) return;
  const info = await detectArchitecture(dir);
  assert.deepEqual([info.hiddenSize, info.numLayers, info.numAttentionHeads, info.numKeyValueHeads, info.vocabSize], [64, 5, 8, 4, 512]);
  assert.equal(info.tiedEmbeddings, true);
  assert.equal(info.parametersSource, 'weights');
  // The GGUF's 292,800 include a separate 64x512 output matrix.
  assert.equal(info.parameters.total, 292_800 - 64 * 512);
});
