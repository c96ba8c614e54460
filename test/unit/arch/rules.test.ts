/**
 * The detection rules one at a time, on small synthetic configs: each test changes one field of a
 * tiny Llama and checks the one thing that field decides.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { detectFromConfig } from '../../../src/core/arch/from-config';
import { FormatError } from '../../../src/core/errors';
import { type JsonValue, parseConfigJson } from '../../../src/core/hf/config';
import { TINY_LLAMA_CONFIG } from '../../fixtures/configs';

const BASE = TINY_LLAMA_CONFIG;

function detect(over: Record<string, JsonValue | undefined> = {}) {
  const config: Record<string, JsonValue> = {};
  for (const [k, v] of Object.entries({ ...BASE, ...over })) if (v !== undefined) config[k] = v;
  return detectFromConfig(config, 'test');
}

test('tiny Llama: every field, and the exact parameter count', () => {
  const info = detect();
  assert.equal(info.family, 'dense');
  assert.equal(info.attention, 'gqa');
  assert.equal(info.gqaRatio, 2);
  assert.equal(info.headDim, 16);
  assert.equal(info.numLayers, 2);
  assert.equal(info.contextLength, 256);
  assert.equal(info.attentionPattern, 'uniform');
  assert.deepEqual(info.layerTypes, ['full_attention', 'full_attention']);
  assert.equal(info.parametersSource, 'computed');
  // embeddings 2 x 100x64, per layer q 64x64 + k,v 64x32 + o 64x64 + 3 x 64x128 + 2 norms, final norm
  const perLayer = 64 * 64 + 2 * 64 * 32 + 64 * 64 + 3 * 64 * 128 + 2 * 64;
  assert.deepEqual(info.parameters, { total: 2 * 100 * 64 + 2 * perLayer + 64, active: 2 * 100 * 64 + 2 * perLayer + 64 });
  assert.deepEqual(info.warnings, []);
});

test('attention kind: mha, gqa, mqa, mla', () => {
  assert.equal(detect({ num_key_value_heads: 4 }).attention, 'mha');
  assert.equal(detect({ num_key_value_heads: 4 }).gqaRatio, 1);
  const mqa = detect({ num_key_value_heads: 1 });
  assert.equal(mqa.attention, 'mqa');
  assert.equal(mqa.gqaRatio, 4);
  const bigcode = detect({ num_key_value_heads: undefined, model_type: 'gpt_bigcode', multi_query: true });
  assert.equal(bigcode.attention, 'mqa');
  assert.equal(bigcode.numKeyValueHeads, 1);
  const implicit = detect({ num_key_value_heads: undefined });
  assert.equal(implicit.attention, 'mha', 'a known config class defaults KV heads to the query heads');
  assert.deepEqual(implicit.warnings, []);
  const unknown = detect({ num_key_value_heads: undefined, model_type: 'frobnicator' });
  assert.equal(unknown.attention, 'mha');
  assert.ok(unknown.warnings.some((w) => /assumed 4 \(multi-head attention\)/.test(w)));
  const mla = detect({
    kv_lora_rank: 32,
    q_lora_rank: 48,
    qk_nope_head_dim: 16,
    qk_rope_head_dim: 8,
    v_head_dim: 16,
    num_key_value_heads: 4,
  });
  assert.equal(mla.attention, 'mla');
  assert.equal(mla.numKeyValueHeads, null, 'vestigial num_key_value_heads ignored');
  assert.equal(mla.gqaRatio, null);
  assert.equal(mla.headDim, 24, 'qk_nope + qk_rope');
  assert.deepEqual(mla.mla, { qLoraRank: 48, kvLoraRank: 32, qkNopeHeadDim: 16, qkRopeHeadDim: 8, vHeadDim: 16 });
  assert.equal(detect({ kv_lora_rank: 32, qk_nope_head_dim: 16, qk_rope_head_dim: 8 }).mla?.qLoraRank, null);
});

test('head_dim: explicit wins over hidden / heads; an MLA head_dim key is not the head size', () => {
  assert.equal(detect({ head_dim: 32 }).headDim, 32);
  assert.equal(detect({ head_dim: undefined, attention_head_dim: 8 }).headDim, 8);
  assert.equal(detect({ head_dim: null }).headDim, 16);
  assert.equal(detect({ kv_lora_rank: 16, qk_nope_head_dim: 24, qk_rope_head_dim: 8, head_dim: 8 }).headDim, 32);
});

test('GPT-2 naming: n_layer, n_embd, n_head, n_positions; learned positions, biases, tied head', () => {
  const info = detectFromConfig(
    { model_type: 'gpt2', n_embd: 64, n_layer: 2, n_head: 4, n_positions: 128, n_ctx: 128, vocab_size: 100 },
    't',
  );
  assert.equal(info.numLayers, 2);
  assert.equal(info.hiddenSize, 64);
  assert.equal(info.attention, 'mha');
  assert.equal(info.contextLength, 128);
  assert.equal(info.tiedEmbeddings, true);
  assert.deepEqual(info.warnings, []);
  const layer = 2 * 128 + (64 * 192 + 192) + (64 * 64 + 64) + (64 * 256 + 256) + (256 * 64 + 64);
  assert.equal(info.parameters.total, 100 * 64 + 128 * 64 + 2 * layer + 128);
});

test('context length under its other names', () => {
  const phi3 = { model_type: 'phi3', max_position_embeddings: undefined };
  assert.equal(detect({ ...phi3, n_positions: 512 }).contextLength, 512);
  assert.equal(detect({ ...phi3, seq_length: 333 }).contextLength, 333);
  assert.equal(detect({ ...phi3, max_sequence_length: 999 }).contextLength, 999);
  const none = detect(phi3);
  assert.equal(none.contextLength, 0);
  assert.ok(none.warnings.some((w) => /no context length/.test(w)));
});

test('sliding window: one window on every layer is uniform', () => {
  const info = detect({ sliding_window: 64 });
  assert.equal(info.slidingWindow, 64);
  assert.equal(info.attentionPattern, 'uniform');
  assert.deepEqual(info.layerTypes, ['sliding_attention', 'sliding_attention']);
});

test('sliding window: disabled, missing, infinite, or not shorter than the context gives null', () => {
  for (const over of [
    { sliding_window: 64, use_sliding_window: false },
    { sliding_window: 256 },
    { sliding_window: 4096 },
    { sliding_window: null },
    { sliding_window: 0 },
    { sliding_window: Infinity },
  ]) {
    const info = detect(over);
    assert.equal(info.slidingWindow, null, JSON.stringify(over));
    assert.deepEqual(info.layerTypes, ['full_attention', 'full_attention'], JSON.stringify(over));
    assert.equal(info.attentionPattern, 'uniform');
  }
  // Qwen configs leave use_sliding_window out when it is false (its class default).
  assert.equal(detect({ model_type: 'qwen2', sliding_window: 64, max_window_layers: 1 }).slidingWindow, null);
  const qwenOn = detect({ model_type: 'qwen2', sliding_window: 64, use_sliding_window: true, max_window_layers: 1 });
  assert.deepEqual(qwenOn.layerTypes, ['full_attention', 'sliding_attention'], 'layers from max_window_layers on use the window');
});

test('sliding window: sliding_window_pattern, Gemma 2 alternation, explicit layer_types', () => {
  const g3 = detect({ num_hidden_layers: 6, sliding_window: 32, sliding_window_pattern: 3 });
  assert.deepEqual(g3.layerTypes, [
    'sliding_attention',
    'sliding_attention',
    'full_attention',
    'sliding_attention',
    'sliding_attention',
    'full_attention',
  ]);
  assert.equal(g3.attentionPattern, 'alternating');
  assert.equal(g3.slidingWindow, 32);
  const g2 = detect({ model_type: 'gemma2', num_hidden_layers: 4, sliding_window: 32 });
  assert.deepEqual(g2.layerTypes, ['sliding_attention', 'full_attention', 'sliding_attention', 'full_attention']);
  const listed = detect({ layer_types: ['full_attention', 'sliding_attention'], sliding_window: 16 });
  assert.deepEqual(listed.layerTypes, ['full_attention', 'sliding_attention']);
  assert.equal(listed.attentionPattern, 'alternating');
  const disabled = detect({ layer_types: ['full_attention', 'sliding_attention'], sliding_window: 16, use_sliding_window: false });
  assert.equal(disabled.attentionPattern, 'uniform');
  assert.equal(disabled.slidingWindow, null);
});

test('chunked attention (Llama 4) is not a sliding window', () => {
  const info = detect({ num_hidden_layers: 8, attention_chunk_size: 64 });
  assert.equal(info.slidingWindow, null);
  assert.equal(info.attentionPattern, 'uniform');
  assert.equal(info.layerTypes.filter((t) => t === 'chunked_attention').length, 6);
  assert.deepEqual([info.layerTypes[3], info.layerTypes[7]], ['full_attention', 'full_attention']);
  const explicit = detect({ attention_chunk_size: 64, no_rope_layers: [0, 1] });
  assert.deepEqual(explicit.layerTypes, ['full_attention', 'chunked_attention']);
});

test('hybrids: full_attention_interval, hybrid_override_pattern, layers_block_type, Jamba periods, LFM2 conv', () => {
  const next = detect({
    num_hidden_layers: 4,
    full_attention_interval: 2,
    linear_num_key_heads: 2,
    linear_key_head_dim: 8,
    linear_num_value_heads: 4,
    linear_value_head_dim: 8,
  });
  assert.deepEqual(next.layerTypes, ['linear_attention', 'full_attention', 'linear_attention', 'full_attention']);
  assert.equal(next.family, 'hybrid');
  assert.equal(next.attentionPattern, 'hybrid');
  assert.equal(detect({ num_hidden_layers: 4, full_attention_interval: 2, num_experts: 4, num_experts_per_tok: 2 }).family, 'hybrid_moe');

  const nemo = detect({
    model_type: 'nemotron_h',
    num_hidden_layers: 4,
    hybrid_override_pattern: 'M*-E',
    n_routed_experts: 4,
    num_experts_per_tok: 1,
    moe_intermediate_size: 32,
    mamba_num_heads: 4,
    mamba_head_dim: 16,
    n_groups: 1,
    ssm_state_size: 8,
  });
  assert.deepEqual(nemo.layerTypes, ['mamba', 'full_attention', 'mlp_only', 'mlp_only']);
  assert.equal(nemo.family, 'hybrid_moe');
  assert.deepEqual(nemo.moe?.denseLayers, [2]);

  assert.deepEqual(detect({ layers_block_type: ['mamba', 'attention'] }).layerTypes, ['mamba', 'full_attention']);
  assert.deepEqual(detect({ num_hidden_layers: 4, attn_layer_period: 2, attn_layer_offset: 1 }).layerTypes, [
    'mamba',
    'full_attention',
    'mamba',
    'full_attention',
  ]);
  const lfm = detect({ model_type: 'lfm2', layer_types: ['conv', 'full_attention'] });
  assert.deepEqual(lfm.layerTypes, ['short_conv', 'full_attention']);
  assert.equal(lfm.family, 'hybrid');

  const odd = detect({ layer_types: ['full_attention', 'teleportation'] });
  assert.ok(odd.warnings.some((w) => /unknown layer type "teleportation"/.test(w)));
  const short = detect({ num_hidden_layers: 3, layer_types: ['full_attention'] });
  assert.equal(short.layerTypes.length, 3);
  assert.ok(short.warnings.some((w) => /1 layer types for 3 layers/.test(w)));
});

test('MoE: expert counts, experts per token and shared experts under all their names', () => {
  for (const key of ['num_local_experts', 'num_experts', 'n_routed_experts', 'moe_num_experts']) {
    const info = detect({ [key]: 8, num_experts_per_tok: 2 });
    assert.equal(info.family, 'moe', key);
    assert.equal(info.moe?.numExperts, 8, key);
  }
  for (const key of ['num_experts_per_tok', 'experts_per_token', 'top_k_experts', 'moe_top_k']) {
    assert.equal(detect({ num_experts: 8, [key]: 3 }).moe?.numExpertsPerToken, 3, key);
  }
  const noTopK = detect({ num_experts: 8 });
  assert.equal(noTopK.moe?.numExpertsPerToken, 2);
  assert.ok(noTopK.warnings.some((w) => /no experts-per-token field/.test(w)));
  assert.equal(detect({ num_experts: 1, num_experts_per_tok: 1 }).moe, null, 'one expert is a dense model');

  const deepseekStyle = detect({ n_routed_experts: 8, num_experts_per_tok: 2, n_shared_experts: 2, moe_intermediate_size: 32 });
  assert.deepEqual(
    [deepseekStyle.moe?.numSharedExperts, deepseekStyle.moe?.sharedIntermediateSize, deepseekStyle.moe?.expertIntermediateSize],
    [2, 64, 32],
  );
  const qwenStyle = detect({ num_experts: 8, num_experts_per_tok: 2, moe_intermediate_size: 32, shared_expert_intermediate_size: 96 });
  assert.deepEqual([qwenStyle.moe?.numSharedExperts, qwenStyle.moe?.sharedIntermediateSize], [1, 96]);
  const none = detect({ num_local_experts: 8, num_experts_per_tok: 2, shared_intermediate_size: 0 });
  assert.equal(none.moe?.numSharedExperts, 0);
  assert.equal(none.moe?.expertIntermediateSize, 128, 'intermediate_size is the expert width on Mixtral-style configs');
  assert.equal(none.intermediateSize, 0);
  assert.equal(detect({ model_type: 'llama4_text', num_local_experts: 4, num_experts_per_tok: 1 }).moe?.numSharedExperts, 1);
});

test('MoE: which layers stay dense', () => {
  const six = { num_hidden_layers: 6, n_routed_experts: 4, num_experts_per_tok: 1, moe_intermediate_size: 32 };
  const dense = (over: Record<string, JsonValue>) => detect({ ...six, ...over }).moe?.denseLayers;
  assert.deepEqual(dense({ first_k_dense_replace: 2 }), [0, 1]);
  assert.deepEqual(dense({ first_k_dense_replace: 1, moe_layer_freq: 2 }), [0, 1, 3, 5]);
  assert.deepEqual(dense({ decoder_sparse_step: 2 }), [0, 2, 4]);
  assert.deepEqual(dense({ mlp_only_layers: [0, 5] }), [0, 5]);
  assert.deepEqual(dense({ interleave_moe_layer_step: 3 }), [0, 1, 3, 4]);
  assert.deepEqual(dense({}), []);
});

test('MoE parameters: active = total minus the routed experts a token does not use', () => {
  const info = detect({ num_local_experts: 4, num_experts_per_tok: 1, intermediate_size: 32 });
  const expertsPerLayer = 4 * 3 * 64 * 32;
  const perLayer = 64 * 64 + 2 * 64 * 32 + 64 * 64 + 64 * 4 + expertsPerLayer + 2 * 64;
  const total = 2 * 100 * 64 + 2 * perLayer + 64;
  assert.deepEqual(info.parameters, { total, active: total - (2 * (expertsPerLayer * 3)) / 4 });
});

test('tied embeddings: explicit, or the model class default when absent', () => {
  assert.equal(detect({ tie_word_embeddings: undefined }).tiedEmbeddings, false);
  assert.equal(detect({ model_type: 'gemma', tie_word_embeddings: undefined }).tiedEmbeddings, true);
  const tied = detect({ tie_word_embeddings: true });
  assert.equal(tied.parameters.total, detect().parameters.total - 100 * 64, 'the tied head is counted once');
  const unknown = detect({ model_type: 'frobnicator', tie_word_embeddings: undefined });
  assert.equal(unknown.tiedEmbeddings, true);
  assert.ok(unknown.warnings.some((w) => /no tie_word_embeddings/.test(w)));
});

test('an unknown model_type gets a best-effort result with a warning', () => {
  const info = detect({ model_type: 'frobnicator' });
  assert.equal(info.modelType, 'frobnicator');
  assert.equal(info.parameters.total, detect().parameters.total);
  assert.ok(info.warnings.some((w) => /unknown model_type "frobnicator"/.test(w)));
  const noType = detect({ model_type: undefined });
  assert.equal(noType.modelType, 'unknown');
  assert.ok(noType.warnings.some((w) => /no model_type/.test(w)));
  const gptLike = detectFromConfig({ model_type: 'mystery', n_embd: 64, n_layer: 2, n_head: 4, n_positions: 128, vocab_size: 100 }, 't');
  assert.ok(gptLike.warnings.some((w) => /GPT-2-like defaults/.test(w)));
});

test('a config without the basic sizes is a FormatError', () => {
  assert.throws(
    () => detect({ model_type: 'phi3', hidden_size: undefined }),
    (e: unknown) => e instanceof FormatError && /no hidden size/.test(e.message) && /test/.test(e.message),
  );
  assert.throws(() => detect({ model_type: 'phi3', num_hidden_layers: undefined }), /no layer count/);
  assert.throws(() => detect({ num_attention_heads: 0 }), /no attention head count/);
});

test('fields a config omits take its config class defaults, as transformers reads them', () => {
  // A LLaVA-1.5 text_config: the rest is LlamaConfig's 7B defaults.
  const llava = detectFromConfig(
    {
      model_type: 'llava',
      text_config: { model_type: 'llama', max_position_embeddings: 4096, vocab_size: 32064 },
      vision_config: { hidden_size: 1024 },
    },
    'llava',
  );
  assert.deepEqual([llava.hiddenSize, llava.numLayers, llava.numAttentionHeads, llava.intermediateSize], [4096, 32, 32, 11008]);
  assert.equal(llava.parameters.total, 6_738_415_616 + 2 * 64 * 4096, 'Llama-2-7B with a 32064-token vocabulary');
  assert.ok(
    llava.warnings.some((w) =>
      /omits hidden_size, intermediate_size, num_hidden_layers, num_attention_heads; taken from the llama config class defaults/.test(w),
    ),
  );
  assert.ok(llava.warnings.some((w) => /vision\/audio towers are not counted/.test(w)));
  // A Gemma 3 wrapper's text_config omits head counts, vocabulary and the sliding pattern.
  const gemma = detectFromConfig(
    {
      model_type: 'gemma3',
      text_config: { model_type: 'gemma3_text', hidden_size: 2560, intermediate_size: 10240, num_hidden_layers: 34, sliding_window: 1024 },
    },
    'g',
  );
  assert.deepEqual(
    [gemma.numAttentionHeads, gemma.numKeyValueHeads, gemma.headDim, gemma.vocabSize, gemma.slidingWindow],
    [8, 4, 256, 262208, 1024],
  );
  assert.equal(gemma.attentionPattern, 'alternating');
  assert.equal(gemma.tiedEmbeddings, true);
});

test('Python-style Infinity and NaN in a config do not disturb detection', () => {
  const config = parseConfigJson(
    '{"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 10, ' +
      '"max_position_embeddings": 64, "time_step_limit": [0.0, Infinity], "router_z": -Infinity}',
  );
  const info = detectFromConfig(config, 't');
  assert.equal(info.attention, 'mha');
  assert.equal(info.rope.theta, null);
  // A hyperparameter that is NaN is not "absent": it is a broken config, named as such.
  assert.throws(
    () => detectFromConfig({ ...config, rope_theta: NaN }, 't'),
    (e: unknown) => e instanceof FormatError && /"rope_theta" is NaN; a RoPE base frequency must be a finite number/.test(e.message),
  );
});

test('source quantization, rope, soft-capping, sinks and dtype', () => {
  assert.equal(detect({ quantization_config: { quant_method: 'fp8', fmt: 'e4m3' } }).sourceQuantization?.method, 'fp8');
  assert.equal(detect({ quantization_config: { quant_method: 'mxfp4' } }).sourceQuantization?.method, 'mxfp4');
  assert.equal(detect({ quantization_config: { quant_method: 'gptq', bits: 4 } }).sourceQuantization?.method, 'gptq');
  assert.equal(detect({ quantization_config: { quant_method: 'awq' } }).sourceQuantization?.method, 'awq');
  assert.equal(
    detect({ quantization_config: { quant_method: 'bitsandbytes', load_in_4bit: true } }).sourceQuantization?.method,
    'bnb-4bit',
  );
  const nvfp4 = { quant_method: 'compressed-tensors', format: 'nvfp4-pack-quantized', config_groups: {} };
  assert.equal(detect({ quantization_config: nvfp4 }).sourceQuantization?.method, 'nvfp4');
  assert.equal(detect({ quantization_config: { quant_method: 'modelopt', quant_algo: 'NVFP4' } }).sourceQuantization?.method, 'nvfp4');
  assert.equal(detect().sourceQuantization, null);

  const rope = detect({ rope_theta: 5e5, rope_scaling: { rope_type: 'llama3', factor: 8 }, partial_rotary_factor: 0.5 }).rope;
  assert.deepEqual(rope, { theta: 5e5, scaling: { rope_type: 'llama3', factor: 8 }, partialRotaryFactor: 0.5 });
  const v5 = detect({ rope_parameters: { rope_type: 'default', rope_theta: 1e6 } }).rope;
  assert.deepEqual(v5, { theta: 1e6, scaling: null, partialRotaryFactor: 1 });
  assert.equal(detect({ rotary_dim: 8 }).rope.partialRotaryFactor, 0.5);

  assert.equal(detect({ final_logit_softcapping: 30 }).finalLogitSoftcap, 30);
  assert.equal(detect({ final_logit_softcapping: null }).finalLogitSoftcap, null);
  assert.equal(detect({ model_type: 'gpt_oss' }).attentionSinks, true);
  assert.equal(detect({ torch_dtype: 'bfloat16' }).dtype, 'bfloat16');
  assert.equal(detect({ dtype: 'float16' }).dtype, 'float16');
});

test('pure state-space models: no attention, one SSM mixer per layer, no FFN', () => {
  const mamba = detectFromConfig(
    {
      model_type: 'mamba',
      hidden_size: 64,
      num_hidden_layers: 2,
      state_size: 4,
      conv_kernel: 4,
      expand: 2,
      time_step_rank: 4,
      vocab_size: 10,
      use_conv_bias: true,
    },
    'm',
  );
  assert.deepEqual([mamba.family, mamba.numAttentionHeads, mamba.gqaRatio], ['hybrid', 0, null]);
  assert.deepEqual(mamba.layerTypes, ['mamba', 'mamba']);
  // in 64x256, conv 4x128 + 128, x 128x(4+8), dt 4x128 + 128, A 4x128, D 128, out 128x64, norm 64
  const layer = 64 * 256 + 4 * 128 + 128 + 128 * 12 + 4 * 128 + 128 + 4 * 128 + 128 + 128 * 64 + 64;
  assert.equal(mamba.parameters.total, 10 * 64 + 2 * layer + 64, 'tied by default');
  const mamba2 = detectFromConfig(
    { model_type: 'mamba2', hidden_size: 64, num_hidden_layers: 1, num_heads: 8, head_dim: 16, n_groups: 1, state_size: 4, vocab_size: 10 },
    'm2',
  );
  assert.equal(mamba2.layerTypes[0], 'mamba');
  assert.ok(mamba2.parameters.total > 64 * (2 * 128 + 8 + 8), 'the SSM heads come from num_heads x head_dim');
});

test('Falcon-H1 runs attention beside the SSM in every layer; MiniMax-01 lists its linear layers', () => {
  const h1 = detect({ model_type: 'falcon_h1', mamba_d_ssm: 128, mamba_n_heads: 8, mamba_d_head: 16, mamba_n_groups: 1, mamba_d_state: 4 });
  assert.deepEqual(h1.layerTypes, ['mamba', 'mamba']);
  assert.equal(h1.family, 'hybrid');
  const attentionOnly = detect().parameters.total;
  assert.ok(h1.parameters.total > attentionOnly + 2 * 64 * 2 * 128, 'attention, SSM and MLP are all counted');
  const minimax = detect({ model_type: 'minimax', attn_type_list: [0, 1] });
  assert.deepEqual(minimax.layerTypes, ['linear_attention', 'full_attention']);
});

test('per-layer FFN widths (Gemma 3n lists one per layer)', () => {
  const info = detect({ intermediate_size: [128, 256] });
  assert.equal(info.intermediateSize, 128);
  assert.equal(info.parameters.total, detect().parameters.total + 3 * 64 * 128);
});

test('a lettered sliding pattern (EXAONE 4: "LLLG") and attention_out_bias', () => {
  const exaone = detect({ model_type: 'exaone4', num_hidden_layers: 4, sliding_window: 32, sliding_window_pattern: 'LLLG' });
  assert.deepEqual(exaone.layerTypes, ['sliding_attention', 'sliding_attention', 'sliding_attention', 'full_attention']);
  const withOut = detect({ attention_bias: true }).parameters.total;
  const without = detect({ attention_bias: true, attention_out_bias: false }).parameters.total;
  assert.equal(withOut - without, 2 * 64, 'one output bias per layer');
});
