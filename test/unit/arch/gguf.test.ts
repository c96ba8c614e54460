/**
 * detectFromGguf: metadata keys and tensor infos -> ArchitectureInfo. Synthetic headers are built
 * in memory (and one as real bytes through the reader); the real stories260K GGUF is checked
 * against the numbers published for it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { detectArchitecture } from '../../../src/core/arch/detect';
import { detectFromGguf } from '../../../src/core/arch/from-gguf';
import { FormatError, UnsupportedError } from '../../../src/core/errors';
import { type GgufFile, type GgufKv, GgufValueType, readGgufHeader } from '../../../src/core/formats/gguf';
import type { GgmlTypeName } from '../../../src/core/formats/ggml-types';
import { tempFile } from '../../fixtures/bytes';
import { buildGguf, f32Bytes, GGML, T } from '../../fixtures/gguf-builder';
import { sharedAsset } from '../../helpers/env';

type Meta = Record<string, number | string | boolean | number[] | boolean[] | string[]>;

function kv(value: Meta[string]): GgufKv {
  if (typeof value === 'string') return { type: GgufValueType.STRING, value };
  if (typeof value === 'boolean') return { type: GgufValueType.BOOL, value };
  if (typeof value === 'number') return { type: Number.isInteger(value) ? GgufValueType.UINT32 : GgufValueType.FLOAT32, value };
  const itemType =
    typeof value[0] === 'boolean' ? GgufValueType.BOOL : typeof value[0] === 'string' ? GgufValueType.STRING : GgufValueType.UINT32;
  return { type: GgufValueType.ARRAY, itemType, value };
}

function ggufFile(meta: Meta, tensors: Array<[string, number[], GgmlTypeName?]>): GgufFile {
  return {
    path: 'model.gguf',
    version: 3,
    metadata: new Map(Object.entries(meta).map(([k, v]) => [k, kv(v)])),
    tensors: tensors.map(([name, shape, type]) => ({ name, shape, type: type ?? 'F32', offset: 0, byteLength: 0 })),
    alignment: 32,
    dataOffset: 0,
    fileSize: 0,
  };
}

/** A small Llama-shaped tensor list (GGUF names and shapes). */
function llamaLayers(n: number, H: number, kv: number, ffn: number, extra: (i: number) => Array<[string, number[]]> = () => []) {
  const out: Array<[string, number[]]> = [];
  for (let i = 0; i < n; i++) {
    out.push(
      [`blk.${i}.attn_norm.weight`, [H]],
      [`blk.${i}.attn_q.weight`, [H, H]],
      [`blk.${i}.attn_k.weight`, [H, kv]],
      [`blk.${i}.attn_v.weight`, [H, kv]],
    );
    out.push([`blk.${i}.attn_output.weight`, [H, H]], [`blk.${i}.ffn_norm.weight`, [H]]);
    if (ffn) out.push([`blk.${i}.ffn_gate.weight`, [H, ffn]], [`blk.${i}.ffn_up.weight`, [H, ffn]], [`blk.${i}.ffn_down.weight`, [ffn, H]]);
    out.push(...extra(i));
  }
  return out;
}

const LLAMA_META: Meta = {
  'general.architecture': 'llama',
  'llama.block_count': 2,
  'llama.embedding_length': 64,
  'llama.attention.head_count': 4,
  'llama.attention.head_count_kv': 2,
  'llama.context_length': 256,
  'llama.feed_forward_length': 128,
  'llama.rope.freq_base': 10000,
  'llama.vocab_size': 100,
  'general.file_type': 1,
};

test('a dense GQA GGUF: sizes from metadata, parameters from tensor infos', () => {
  const tensors: Array<[string, number[]]> = [
    ['token_embd.weight', [64, 100]],
    ['output_norm.weight', [64]],
    ['output.weight', [64, 100]],
    ...llamaLayers(2, 64, 32, 128),
  ];
  const info = detectFromGguf(ggufFile(LLAMA_META, tensors), 'm.gguf');
  assert.equal(info.modelType, 'llama');
  assert.equal(info.attention, 'gqa');
  assert.equal(info.gqaRatio, 2);
  assert.equal(info.headDim, 16);
  assert.equal(info.contextLength, 256);
  assert.equal(info.vocabSize, 100);
  assert.equal(info.intermediateSize, 128);
  assert.equal(info.tiedEmbeddings, false);
  assert.equal(info.dtype, 'F16');
  assert.equal(info.sourceQuantization, null);
  assert.equal(info.parametersSource, 'weights');
  const perLayer = 64 * 64 * 2 + 2 * 64 * 32 + 3 * 64 * 128 + 2 * 64;
  assert.deepEqual(info.parameters, { total: 2 * 6400 + 64 + 2 * perLayer, active: 2 * 6400 + 64 + 2 * perLayer });
});

test('per-layer head counts, token-array vocab, tied output, quantized file type, rope tables not counted', () => {
  const meta: Meta = {
    ...LLAMA_META,
    'llama.attention.head_count_kv': [2, 2],
    'general.file_type': 15,
    'tokenizer.ggml.tokens': ['a', 'b', 'c'],
  };
  delete meta['llama.vocab_size'];
  const info = detectFromGguf(
    ggufFile(meta, [['token_embd.weight', [64, 3]], ['rope_freqs.weight', [8]], ...llamaLayers(2, 64, 32, 128)]),
    'm',
  );
  assert.equal(info.numKeyValueHeads, 2);
  assert.equal(info.vocabSize, 3);
  assert.equal(info.tiedEmbeddings, true);
  assert.deepEqual(info.sourceQuantization, { method: 'gguf', details: { fileType: 'Q4_K_M' } });
  assert.equal(info.parameters.total, 64 * 3 + 2 * (64 * 64 * 2 + 2 * 64 * 32 + 3 * 64 * 128 + 2 * 64));
});

test('MoE GGUF: expert keys, stacked experts, active parameters, dense leading layer', () => {
  const meta: Meta = { ...LLAMA_META, 'llama.expert_count': 4, 'llama.expert_used_count': 1, 'llama.expert_feed_forward_length': 32 };
  const ffn = (i: number): Array<[string, number[]]> =>
    i === 0
      ? [
          ['blk.0.ffn_gate.weight', [64, 128]],
          ['blk.0.ffn_up.weight', [64, 128]],
          ['blk.0.ffn_down.weight', [128, 64]],
        ]
      : [
          ['blk.1.ffn_gate_inp.weight', [64, 4]],
          ['blk.1.ffn_gate_exps.weight', [64, 32, 4]],
          ['blk.1.ffn_up_exps.weight', [64, 32, 4]],
          ['blk.1.ffn_down_exps.weight', [32, 64, 4]],
        ];
  const tensors: Array<[string, number[]]> = [['token_embd.weight', [64, 100]], ...llamaLayers(2, 64, 32, 0, ffn)];
  const info = detectFromGguf(ggufFile(meta, tensors), 'm');
  assert.equal(info.family, 'moe');
  assert.deepEqual(info.moe, {
    numExperts: 4,
    numExpertsPerToken: 1,
    numSharedExperts: 0,
    expertIntermediateSize: 32,
    sharedIntermediateSize: 0,
    denseLayers: [0],
  });
  const experts = 3 * 64 * 32 * 4;
  assert.equal(info.parameters.total - info.parameters.active, (experts * 3) / 4);
});

test('MLA GGUF: kv_lora_rank makes it MLA; head size from the *_mla keys', () => {
  const meta: Meta = {
    'general.architecture': 'deepseek2',
    'deepseek2.block_count': 1,
    'deepseek2.embedding_length': 64,
    'deepseek2.attention.head_count': 4,
    'deepseek2.attention.head_count_kv': 1,
    'deepseek2.attention.kv_lora_rank': 16,
    'deepseek2.attention.q_lora_rank': 24,
    'deepseek2.attention.key_length': 20,
    'deepseek2.attention.value_length': 16,
    'deepseek2.attention.key_length_mla': 12,
    'deepseek2.attention.value_length_mla': 8,
    'deepseek2.rope.dimension_count': 4,
    'deepseek2.context_length': 128,
  };
  const info = detectFromGguf(
    ggufFile(meta, [
      ['token_embd.weight', [64, 10]],
      ['blk.0.attn_kv_a_mqa.weight', [64, 20]],
      ['blk.0.attn_q_a.weight', [64, 24]],
    ]),
    'm',
  );
  assert.equal(info.attention, 'mla');
  assert.equal(info.numKeyValueHeads, null);
  assert.equal(info.gqaRatio, null);
  assert.equal(info.headDim, 12);
  assert.deepEqual(info.mla, { qLoraRank: 24, kvLoraRank: 16, qkNopeHeadDim: 8, qkRopeHeadDim: 4, vHeadDim: 8 });
});

test('sliding windows: an explicit per-layer pattern, the arch default, a window as long as the context', () => {
  const gemma: Meta = {
    'general.architecture': 'gemma2',
    'gemma2.block_count': 4,
    'gemma2.embedding_length': 64,
    'gemma2.attention.head_count': 4,
    'gemma2.context_length': 256,
    'gemma2.attention.sliding_window': 32,
  };
  const layers = llamaLayers(4, 64, 64, 0);
  const info = detectFromGguf(ggufFile(gemma, layers), 'm');
  assert.deepEqual(info.layerTypes, ['sliding_attention', 'full_attention', 'sliding_attention', 'full_attention']);
  assert.equal(info.slidingWindow, 32);
  assert.equal(info.attentionPattern, 'alternating');
  const explicit = detectFromGguf(
    ggufFile({ ...gemma, 'gemma2.attention.sliding_window_pattern': [true, true, true, false] }, layers),
    'm',
  );
  assert.deepEqual(
    explicit.layerTypes.map((t) => t[0]),
    ['s', 's', 's', 'f'],
  );
  const long = detectFromGguf(ggufFile({ ...gemma, 'gemma2.attention.sliding_window': 256 }, layers), 'm');
  assert.equal(long.slidingWindow, null);
  assert.equal(long.attentionPattern, 'uniform');
});

test('hybrid GGUF: SSM layers from their tensors, per-layer KV heads with zeros', () => {
  const meta: Meta = {
    'general.architecture': 'nemotron_h',
    'nemotron_h.block_count': 2,
    'nemotron_h.embedding_length': 64,
    'nemotron_h.attention.head_count': [0, 4],
    'nemotron_h.attention.head_count_kv': [0, 2],
    'nemotron_h.context_length': 128,
  };
  const tensors: Array<[string, number[]]> = [
    ['token_embd.weight', [64, 10]],
    ['blk.0.ssm_in.weight', [64, 200]],
    ['blk.0.ssm_conv1d.weight', [4, 96]],
    ['blk.1.attn_q.weight', [64, 64]],
    ['blk.1.attn_k.weight', [64, 32]],
  ];
  const info = detectFromGguf(ggufFile(meta, tensors), 'm');
  assert.deepEqual(info.layerTypes, ['mamba', 'full_attention']);
  assert.equal(info.family, 'hybrid');
  assert.equal(info.numAttentionHeads, 4);
  assert.equal(info.numKeyValueHeads, 2);
});

test('missing architecture keys are a FormatError', () => {
  assert.throws(
    () => detectFromGguf(ggufFile({}, []), 'm'),
    (e: unknown) => e instanceof FormatError && /no general.architecture/.test(e.message),
  );
  const noBlocks = { ...LLAMA_META };
  delete noBlocks['llama.block_count'];
  assert.throws(() => detectFromGguf(ggufFile(noBlocks, []), 'm'), /no llama.block_count/);
});

test('detectArchitecture reads a .gguf file from disk', async (t) => {
  const bytes = buildGguf({
    kvs: [
      { key: 'general.architecture', type: T.str, value: 'llama' },
      { key: 'llama.block_count', type: T.u32, value: 1 },
      { key: 'llama.embedding_length', type: T.u32, value: 4 },
      { key: 'llama.attention.head_count', type: T.u32, value: 2 },
      { key: 'llama.attention.head_count_kv', type: T.u32, value: 1 },
      { key: 'llama.context_length', type: T.u64, value: 64n },
    ],
    tensors: [
      { name: 'token_embd.weight', dims: [4, 3], typeId: GGML.F32, data: f32Bytes(new Array(12).fill(0)) },
      { name: 'blk.0.attn_q.weight', dims: [4, 4], typeId: GGML.F32, data: f32Bytes(new Array(16).fill(0)) },
    ],
  });
  const file = tempFile(t, 'tiny.gguf', bytes);
  const info = await detectArchitecture(file);
  assert.equal(info.attention, 'mqa');
  assert.equal(info.contextLength, 64);
  assert.equal(info.vocabSize, 3);
  assert.equal(info.parameters.total, 12 + 16);
  assert.equal(info.source, file);
});

test('stories260K.gguf: dim 64, 5 layers, 8 heads, 4 KV heads, vocab 512', async (t) => {
  const p = sharedAsset(t, 'models/stories260K-gguf/stories260K.gguf');
  if (!p) return;
  const file = await readGgufHeader(p);
  const info = detectFromGguf(file, p);
  assert.deepEqual(
    [
      info.modelType,
      info.hiddenSize,
      info.numLayers,
      info.numAttentionHeads,
      info.numKeyValueHeads,
      info.vocabSize,
      info.headDim,
      info.attention,
      info.gqaRatio,
    ],
    ['llama', 64, 5, 8, 4, 512, 8, 'gqa', 2],
  );
  assert.equal(info.family, 'dense');
  assert.equal(info.contextLength, 2048);
  const sum = file.tensors.reduce((n, x) => n + x.shape.reduce((a, b) => a * b, 1), 0);
  assert.deepEqual(info.parameters, { total: sum, active: sum });
  assert.equal(info.parameters.total, 292_800);
});

test('a vision projector or a LoRA adapter is not a model: UnsupportedError', () => {
  assert.throws(
    () => detectFromGguf(ggufFile({ 'general.architecture': 'clip' }, []), 'm'),
    (e: unknown) => e instanceof UnsupportedError && /mmproj/.test(e.message),
  );
  assert.throws(
    () => detectFromGguf(ggufFile({ ...LLAMA_META, 'general.type': 'adapter' }, []), 'm'),
    (e: unknown) => e instanceof UnsupportedError && /LoRA adapter/.test(e.message),
  );
});
