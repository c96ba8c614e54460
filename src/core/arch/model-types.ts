/**
 * What a `model_type` implies about a model's structure when config.json does not say it:
 * norms, biases, gated or plain MLP, learned positions, QK-norm, tied embeddings by default.
 * These are semantics of the model class (the same for every checkpoint of that type), which is
 * why detection may use them; explicit config fields always win (see `resolveTraits`).
 * An unknown model_type gets Llama-like traits, or GPT-2-like ones when the config uses GPT-2
 * field names (n_embd, n_head, n_layer).
 */
import type { HfConfig } from '../hf/config';
import { boolField, has, stringField } from './config-fields';

/** `layer` is LayerNorm with weight and bias; `none` is a norm without parameters (OLMo 1). */
export type NormKind = 'rms' | 'layer' | 'none';
/** Norms per decoder layer: pre (2), sandwich (4: pre and post around both blocks), post (2), single (1, parallel blocks). */
export type NormLayout = 'pre' | 'sandwich' | 'post' | 'single';
/** QK-norm weights: per head (head_dim) or over the whole projection (heads x head_dim). */
export type QkNorm = 'none' | 'head' | 'full';

export interface ModelTypeTraits {
  /** Whether model_type is in the table (false: best-effort defaults, with a warning). */
  known: boolean;
  /** tie_word_embeddings when config.json omits it (the config class default). */
  tiedDefault: boolean;
  norm: NormKind;
  normLayout: NormLayout;
  qkvBias: boolean;
  oBias: boolean;
  mlpBias: boolean;
  /** Gated (SwiGLU/GeGLU: gate, up, down) or plain (up, down) MLP. */
  gatedMlp: boolean;
  /** Learned absolute position embeddings (GPT-2 `wpe`), sized by the context length. */
  learnedPositions: boolean;
  qkNorm: QkNorm;
  /** `attention_bias: true` also puts a bias on the output projection. */
  attentionBiasCoversOutput: boolean;
  /** GGUF names: fused `attn_qkv` (GPT-2, Phi-3, Falcon ...) instead of attn_q/k/v. */
  fusedQkv: boolean;
  /** GGUF names: Phi-3 keeps gate and up fused in `ffn_up` (2 x intermediate). */
  fusedGateUp: boolean;
  /** `use_sliding_window` when the config omits it (Qwen configs default it to false). */
  useSlidingWindowDefault?: boolean;
  /** MLA: GGUF splits kv_b into attn_k_b / attn_v_b (DeepSeek converter) or keeps attn_kv_b (MiniCPM3). */
  mlaSplitKvB: boolean;
  /** The pre-FFN norm is named `post_attention_norm` in GGUF (Qwen3-Next, gpt-oss, GLM-4.5). */
  ffnNormIsPostAttention: boolean;
  /** Full-attention layers gate their output: q_proj is twice as wide (Qwen3-Next, Qwen3.5). */
  attentionOutputGate: boolean;
  /** A pure state-space model (Mamba): no attention, no FFN, one SSM mixer per layer. */
  ssmOnly: boolean;
  /** Attention and an SSM side by side in every layer (Falcon-H1). */
  parallelSsm: boolean;
  /** Sliding-window layers every Nth-but-last layer when the config has no pattern field (Gemma 2: 2). */
  slidingPattern?: number;
  /** Qwen-style sigmoid gate on the shared expert (`ffn_gate_inp_shexp`). */
  sharedExpertGate: boolean;
  /** Expert-selection bias (`e_score_correction_bias`, GGUF `exp_probs_b`). */
  expertSelectionBias: boolean;
  /** Router with a bias, experts with biases (gpt-oss). */
  routerBias: boolean;
  expertBiases: boolean;
  attentionSinks: boolean;
}

const LLAMA: ModelTypeTraits = {
  known: true,
  tiedDefault: false,
  norm: 'rms',
  normLayout: 'pre',
  qkvBias: false,
  oBias: false,
  mlpBias: false,
  gatedMlp: true,
  learnedPositions: false,
  qkNorm: 'none',
  attentionBiasCoversOutput: true,
  fusedQkv: false,
  fusedGateUp: false,
  sharedExpertGate: false,
  expertSelectionBias: false,
  routerBias: false,
  expertBiases: false,
  attentionSinks: false,
  mlaSplitKvB: true,
  ssmOnly: false,
  parallelSsm: false,
  ffnNormIsPostAttention: false,
  attentionOutputGate: false,
};

const GPT2: Partial<ModelTypeTraits> = {
  tiedDefault: true,
  norm: 'layer',
  qkvBias: true,
  oBias: true,
  mlpBias: true,
  gatedMlp: false,
  learnedPositions: true,
  fusedQkv: true,
};
const QWEN2: Partial<ModelTypeTraits> = { qkvBias: true, useSlidingWindowDefault: false };
const QWEN3: Partial<ModelTypeTraits> = { qkNorm: 'head', useSlidingWindowDefault: false };
const QWEN_HYBRID: Partial<ModelTypeTraits> = { ...QWEN3, sharedExpertGate: true, ffnNormIsPostAttention: true, attentionOutputGate: true };
const GEMMA: Partial<ModelTypeTraits> = { tiedDefault: true };
const GEMMA2: Partial<ModelTypeTraits> = { tiedDefault: true, normLayout: 'sandwich', slidingPattern: 2 };
const GEMMA3: Partial<ModelTypeTraits> = { tiedDefault: true, normLayout: 'sandwich', qkNorm: 'head', slidingPattern: 6 };
const DEEPSEEK_V3: Partial<ModelTypeTraits> = { expertSelectionBias: true };
const PARALLEL_LN: Partial<ModelTypeTraits> = { norm: 'layer', qkvBias: true, oBias: true, mlpBias: true, gatedMlp: false, fusedQkv: true };

/** model_type -> traits that differ from Llama's. */
const TABLE: Record<string, Partial<ModelTypeTraits>> = {
  llama: {},
  llama4_text: {},
  mistral: {},
  ministral: {},
  mixtral: {},
  arcee: { gatedMlp: false },
  smollm3: {},
  granite: {},
  granitemoe: {},
  granitemoeshared: {},
  internlm2: {},
  internlm3: {},
  baichuan: {},
  yi: {},
  exaone: {},
  exaone4: { qkNorm: 'head', normLayout: 'post' },
  hunyuan_v1_dense: { qkNorm: 'head' },
  hunyuan_v1_moe: { qkNorm: 'head' },
  seed_oss: { qkvBias: true },
  ernie4_5: { tiedDefault: true },
  ernie4_5_moe: { tiedDefault: true },
  apertus: { gatedMlp: false, qkNorm: 'head' },
  qwen2: QWEN2,
  qwen2_vl: QWEN2,
  qwen2_5_vl: QWEN2,
  qwen2_vl_text: QWEN2,
  qwen2_5_vl_text: QWEN2,
  qwen2_moe: { ...QWEN2, sharedExpertGate: true },
  qwen3: QWEN3,
  qwen3_moe: QWEN3,
  qwen3_vl_text: QWEN3,
  qwen3_vl_moe_text: QWEN3,
  qwen3_next: QWEN_HYBRID,
  qwen3_5_text: QWEN_HYBRID,
  qwen3_5_moe_text: QWEN_HYBRID,
  gemma: GEMMA,
  gemma2: GEMMA2,
  gemma3: GEMMA3,
  gemma3_text: GEMMA3,
  gemma4_text: { ...GEMMA3, slidingPattern: undefined },
  cohere: { tiedDefault: true, norm: 'layer', normLayout: 'single' },
  cohere2: { tiedDefault: true, norm: 'layer', normLayout: 'single', slidingPattern: 4 },
  olmo: { norm: 'none' },
  olmo2: { normLayout: 'post', qkNorm: 'full' },
  olmo3: { normLayout: 'post', qkNorm: 'full' },
  olmoe: { qkNorm: 'full' },
  phi3: { fusedQkv: true, fusedGateUp: true },
  phimoe: { norm: 'layer', qkvBias: true, oBias: true },
  phi: { ...PARALLEL_LN, normLayout: 'single', fusedQkv: false },
  gpt2: GPT2,
  gpt_bigcode: GPT2,
  starcoder2: { norm: 'layer', qkvBias: true, oBias: true, mlpBias: true, gatedMlp: false, tiedDefault: true },
  gpt_neox: { ...PARALLEL_LN },
  gptj: { ...PARALLEL_LN, qkvBias: false, oBias: false, normLayout: 'single', fusedQkv: false },
  codegen: { ...PARALLEL_LN, qkvBias: false, oBias: false, normLayout: 'single', fusedQkv: true },
  opt: { norm: 'layer', qkvBias: true, oBias: true, mlpBias: true, gatedMlp: false, learnedPositions: true, tiedDefault: true },
  chatglm: { qkvBias: true, attentionBiasCoversOutput: false },
  falcon: { ...PARALLEL_LN, qkvBias: false, oBias: false, mlpBias: false, normLayout: 'single', tiedDefault: true },
  bloom: { ...PARALLEL_LN, tiedDefault: true },
  stablelm: { norm: 'layer' },
  persimmon: { ...PARALLEL_LN },
  nemotron: { norm: 'layer', gatedMlp: false },
  nemotron_h: { normLayout: 'single', gatedMlp: false, expertSelectionBias: true },
  deepseek: {},
  deepseek_v2: {},
  deepseek_v3: DEEPSEEK_V3,
  deepseek_v32: DEEPSEEK_V3,
  kimi_k2: DEEPSEEK_V3,
  minicpm: { tiedDefault: true },
  minicpm3: { tiedDefault: true, mlaSplitKvB: false },
  glm: { qkvBias: true, attentionBiasCoversOutput: false },
  glm4: { qkvBias: true, attentionBiasCoversOutput: false, normLayout: 'sandwich' },
  // Every released glm4_moe checkpoint sets attention_bias and use_qk_norm; trimmed configs omit them.
  glm4_moe: { qkvBias: true, qkNorm: 'head', attentionBiasCoversOutput: false, expertSelectionBias: true, ffnNormIsPostAttention: true },
  glm_moe_dsa: { expertSelectionBias: true },
  dots1: { qkNorm: 'head', expertSelectionBias: true },
  gpt_oss: { qkvBias: true, oBias: true, routerBias: true, expertBiases: true, attentionSinks: true, ffnNormIsPostAttention: true },
  minimax_m2: { expertSelectionBias: true },
  dbrx: { norm: 'layer', fusedQkv: true },
  mpt: { norm: 'layer', gatedMlp: false, fusedQkv: true, tiedDefault: true },
  jamba: {},
  bamba: {},
  granitemoehybrid: {},
  falcon_h1: { parallelSsm: true },
  mamba: { ssmOnly: true, normLayout: 'single', tiedDefault: true },
  falcon_mamba: { ssmOnly: true, normLayout: 'single', tiedDefault: true },
  lfm2: { tiedDefault: true, qkNorm: 'head' },
  lfm2_moe: { tiedDefault: true, qkNorm: 'head', expertSelectionBias: true },
  mamba2: { ssmOnly: true, normLayout: 'single', tiedDefault: true },
};

/** The traits for a config: the model_type's table entry, then explicit config fields on top. */
export function resolveTraits(config: HfConfig, modelType: string): ModelTypeTraits {
  const entry = TABLE[modelType];
  const gpt2Naming = has(config, 'n_embd') || has(config, 'n_head');
  // Unknown types: transformers' PretrainedConfig ties embeddings unless the config says otherwise.
  const base: ModelTypeTraits = entry ? { ...LLAMA, ...entry } : { ...LLAMA, tiedDefault: true, ...(gpt2Naming ? GPT2 : {}), known: false };
  return applyConfigFields(config, modelType, base);
}

export function isKnownModelType(modelType: string): boolean {
  return Object.prototype.hasOwnProperty.call(TABLE, modelType);
}

function applyConfigFields(config: HfConfig, modelType: string, t: ModelTypeTraits): ModelTypeTraits {
  const out = { ...t };
  const attentionBias = boolField(config, ['attention_bias', 'qkv_bias', 'add_qkv_bias']);
  if (attentionBias !== undefined) {
    out.qkvBias = attentionBias;
    out.oBias = attentionBias && t.attentionBiasCoversOutput;
  }
  const outBias = boolField(config, ['attention_out_bias', 'o_proj_bias']);
  if (outBias !== undefined) out.oBias = outBias;
  const mlpBias = boolField(config, ['mlp_bias']);
  if (mlpBias !== undefined) out.mlpBias = mlpBias;
  const anyBias = boolField(config, modelType === 'falcon' ? ['bias'] : ['use_bias']);
  if (anyBias !== undefined && (modelType === 'falcon' || modelType === 'starcoder2')) {
    out.qkvBias = out.oBias = out.mlpBias = anyBias;
  }
  const qkNorm = qkNormFromConfig(config, t);
  if (qkNorm) out.qkNorm = qkNorm;
  if (modelType === 'falcon' && boolField(config, ['new_decoder_architecture'])) out.normLayout = 'pre';
  if (modelType === 'llama4_text') out.qkNorm = 'none'; // Llama 4's QK-norm is an L2 norm without weights
  const act = stringField(config, ['hidden_act', 'hidden_activation', 'activation_function', 'mlp_hidden_act']);
  // relu^2 MLPs (Nemotron, Persimmon) are never gated.
  if (act === 'relu2' || act === 'relu_squared') out.gatedMlp = false;
  const outputGate = boolField(config, ['attn_output_gate']);
  if (outputGate !== undefined) out.attentionOutputGate = outputGate;
  if (boolField(config, ['use_routing_bias', 'moe_router_enable_expert_bias']) === true) out.expertSelectionBias = true;
  if (stringField(config, ['topk_method']) === 'noaux_tc') out.expertSelectionBias = true;
  return out;
}

function qkNormFromConfig(config: HfConfig, t: ModelTypeTraits): QkNorm | undefined {
  const type = stringField(config, ['qk_norm_type']);
  if (type === 'per_layer') return 'full';
  if (type === 'per_head') return 'head';
  const use = boolField(config, ['use_qk_norm', 'qk_layernorm', 'qk_norm']);
  if (use === false) return 'none';
  if (use === true) return t.qkNorm === 'none' ? 'head' : t.qkNorm;
  return undefined;
}
