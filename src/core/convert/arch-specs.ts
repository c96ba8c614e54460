/**
 * The architectures the converter handles: for each, the llama.cpp architecture name, the Hugging
 * Face module paths and the GGUF tensor they become (facts from llama.cpp's gguf-py
 * tensor_mapping.py and constants.py), how routed experts are named, and which weight transforms
 * apply. Metadata lives in arch-metadata.ts.
 */
import { UnsupportedError } from '../errors';
import type { SafetensorsTensor } from '../formats/safetensors';
import { GPT_OSS_EXPERTS, checkGptOssConfig } from './gpt-oss';
import type { Hparams } from './hparams';
import type { OutType, TensorRecipe } from './recipe';

/**
 * Experts an architecture stores in its own layout (gpt-oss: MXFP4 blocks and scales, or stacked
 * [experts, in, out] matrices with interleaved gate/up units), gathered per layer and turned into
 * GGUF recipes by the architecture's own code.
 */
export interface PackedExperts {
  /** Whether a module path after `model.layers.<i>.` is one of these tensors. */
  claims(rest: string): boolean;
  /** The GGUF recipes of one layer's claimed tensors, keyed by their module path. */
  recipes(h: Hparams, layer: number, parts: ReadonlyMap<string, SafetensorsTensor>, out: OutType): TensorRecipe[];
}

export interface ExpertNaming {
  /** Per-expert modules: `<prefix>.experts.<e>.<proj>` -> GGUF base, keyed "<prefix>.<proj>". */
  perExpert: Readonly<Record<string, string>>;
  /** Already-stacked 3-D tensors (transformers 5): module path -> GGUF base; gate_up is split. */
  fused?: Readonly<Record<string, string | readonly [string, string]>>;
  packed?: PackedExperts;
}

export interface ArchSpec {
  /** general.architecture */
  ggufArch: string;
  /** Hugging Face model_type values. */
  modelTypes: readonly string[];
  /**
   * Decoder-layer module path (after `model.layers.<i>.`) -> GGUF base (after `blk.<i>.`). A path
   * without a .weight/.bias suffix (gpt-oss's `self_attn.sinks`) is a bare parameter -> `<base>.weight`.
   */
  layer: Readonly<Record<string, string>>;
  experts?: ExpertNaming;
  /** Q/K rows are permuted to GGML's rope layout (llama.cpp's LLAMA rope type). */
  ropePermute: boolean;
  /** Added to every `*norm.weight` (Gemma stores RMSNorm weights as w - 1). */
  normAdd?: number;
  /** Source tensors the converter drops (e.g. Gemma's lm_head, tied by construction). */
  dropTensors?: readonly string[];
  /** GGUF bases every decoder layer must have (`.weight` implied; a base may name `.bias` itself). */
  requiredLayer(h: Hparams): string[];
  /** Throws UnsupportedError for configurations llama.cpp cannot run for this architecture. */
  checkConfig?(h: Hparams): void;
  /** Values transformers assumes when config.json leaves them out (multimodal text_configs do). */
  defaults?: Readonly<Record<string, number>>;
}

const GLOBAL: Readonly<Record<string, string>> = {
  'model.embed_tokens': 'token_embd',
  'model.norm': 'output_norm',
  lm_head: 'output',
};

export function globalTensorBase(module: string): string | undefined {
  return GLOBAL[module];
}

const ATTENTION = {
  input_layernorm: 'attn_norm',
  'self_attn.q_proj': 'attn_q',
  'self_attn.k_proj': 'attn_k',
  'self_attn.v_proj': 'attn_v',
  'self_attn.o_proj': 'attn_output',
} as const;
const QK_NORM = { 'self_attn.q_norm': 'attn_q_norm', 'self_attn.k_norm': 'attn_k_norm' } as const;
const DENSE_MLP = { 'mlp.gate_proj': 'ffn_gate', 'mlp.up_proj': 'ffn_up', 'mlp.down_proj': 'ffn_down' } as const;
const ATTN_REQUIRED = ['attn_norm', 'attn_q', 'attn_k', 'attn_v', 'attn_output'];
const DENSE_REQUIRED = ['ffn_gate', 'ffn_up', 'ffn_down'];
const MOE_REQUIRED = ['ffn_gate_inp', 'ffn_gate_exps', 'ffn_up_exps', 'ffn_down_exps'];

const QWEN_EXPERTS: ExpertNaming = {
  perExpert: { 'mlp.gate_proj': 'ffn_gate_exps', 'mlp.up_proj': 'ffn_up_exps', 'mlp.down_proj': 'ffn_down_exps' },
  fused: { 'mlp.experts.gate_up_proj': ['ffn_gate_exps', 'ffn_up_exps'], 'mlp.experts.down_proj': 'ffn_down_exps' },
};

function isMoe(h: Hparams): boolean {
  return (h.num(['num_local_experts', 'num_experts']) ?? 0) > 0;
}

const LLAMA: ArchSpec = {
  ggufArch: 'llama',
  modelTypes: ['llama', 'mistral', 'mixtral'],
  layer: {
    ...ATTENTION,
    post_attention_layernorm: 'ffn_norm',
    ...DENSE_MLP,
    'block_sparse_moe.gate': 'ffn_gate_inp',
  },
  experts: {
    perExpert: { 'block_sparse_moe.w1': 'ffn_gate_exps', 'block_sparse_moe.w2': 'ffn_down_exps', 'block_sparse_moe.w3': 'ffn_up_exps' },
  },
  ropePermute: true,
  requiredLayer: (h) => [...ATTN_REQUIRED, 'ffn_norm', ...(isMoe(h) ? MOE_REQUIRED : DENSE_REQUIRED)],
};

const QWEN2: ArchSpec = {
  ggufArch: 'qwen2',
  modelTypes: ['qwen2'],
  layer: { ...ATTENTION, post_attention_layernorm: 'ffn_norm', ...DENSE_MLP },
  ropePermute: false,
  requiredLayer: () => [...ATTN_REQUIRED, 'ffn_norm', ...DENSE_REQUIRED],
};

const QWEN3: ArchSpec = {
  ...QWEN2,
  ggufArch: 'qwen3',
  modelTypes: ['qwen3'],
  layer: { ...QWEN2.layer, ...QK_NORM },
  requiredLayer: () => [...ATTN_REQUIRED, 'attn_q_norm', 'attn_k_norm', 'ffn_norm', ...DENSE_REQUIRED],
};

const SHARED_EXPERT = {
  'mlp.shared_expert.gate_proj': 'ffn_gate_shexp',
  'mlp.shared_expert.up_proj': 'ffn_up_shexp',
  'mlp.shared_expert.down_proj': 'ffn_down_shexp',
  'mlp.shared_expert_gate': 'ffn_gate_inp_shexp',
} as const;

/**
 * Qwen MoE configs can keep some layers dense (mlp_only_layers, decoder_sparse_step > 1); llama.cpp's
 * qwen2moe/qwen3moe graphs route every layer, so such models cannot run there.
 */
function checkQwenMoeLayers(h: Hparams): void {
  const only = h.raw.mlp_only_layers;
  const step = h.num('decoder_sparse_step') ?? 1;
  if ((Array.isArray(only) && only.length > 0) || step !== 1) {
    throw new UnsupportedError(
      `${h.modelType} with dense layers (mlp_only_layers ${JSON.stringify(only ?? [])}, decoder_sparse_step ${step}) is not supported: ` +
        `llama.cpp's ${h.modelType.replace('_', '')} expects every layer to be MoE`,
    );
  }
}

const QWEN2MOE: ArchSpec = {
  ggufArch: 'qwen2moe',
  modelTypes: ['qwen2_moe'],
  layer: { ...ATTENTION, post_attention_layernorm: 'ffn_norm', 'mlp.gate': 'ffn_gate_inp', ...SHARED_EXPERT, ...DENSE_MLP },
  experts: QWEN_EXPERTS,
  ropePermute: false,
  checkConfig: checkQwenMoeLayers,
  requiredLayer: (h) => [
    ...ATTN_REQUIRED,
    'ffn_norm',
    ...MOE_REQUIRED,
    ...((h.num('shared_expert_intermediate_size') ?? 0) > 0 ? ['ffn_gate_shexp', 'ffn_up_shexp', 'ffn_down_shexp'] : []),
  ],
};

const QWEN3MOE: ArchSpec = {
  ...QWEN2MOE,
  ggufArch: 'qwen3moe',
  modelTypes: ['qwen3_moe'],
  layer: { ...ATTENTION, ...QK_NORM, post_attention_layernorm: 'ffn_norm', 'mlp.gate': 'ffn_gate_inp', ...DENSE_MLP },
  requiredLayer: () => [...ATTN_REQUIRED, 'attn_q_norm', 'attn_k_norm', 'ffn_norm', ...MOE_REQUIRED],
};

const GEMMA_LAYER = {
  ...ATTENTION,
  post_attention_layernorm: 'post_attention_norm',
  pre_feedforward_layernorm: 'ffn_norm',
  post_feedforward_layernorm: 'post_ffw_norm',
  ...DENSE_MLP,
} as const;
const GEMMA_REQUIRED = [...ATTN_REQUIRED, 'post_attention_norm', 'ffn_norm', 'post_ffw_norm', ...DENSE_REQUIRED];

const GEMMA2: ArchSpec = {
  ggufArch: 'gemma2',
  modelTypes: ['gemma2'],
  layer: GEMMA_LAYER,
  ropePermute: false,
  normAdd: 1,
  dropTensors: ['lm_head.weight'],
  requiredLayer: () => GEMMA_REQUIRED,
};

const GEMMA3: ArchSpec = {
  ...GEMMA2,
  ggufArch: 'gemma3',
  modelTypes: ['gemma3', 'gemma3_text'],
  // Gemma3TextConfig's defaults, which gemma-3 multimodal checkpoints rely on.
  defaults: {
    num_attention_heads: 8,
    num_key_value_heads: 4,
    head_dim: 256,
    rms_norm_eps: 1e-6,
    max_position_embeddings: 131072,
    rope_theta: 1_000_000,
    rope_local_base_freq: 10000,
    query_pre_attn_scalar: 256,
    sliding_window_pattern: 6,
  },
  layer: { ...GEMMA_LAYER, ...QK_NORM },
  requiredLayer: () => [...GEMMA_REQUIRED, 'attn_q_norm', 'attn_k_norm'],
};

const PHI3: ArchSpec = {
  ggufArch: 'phi3',
  modelTypes: ['phi3'],
  layer: {
    input_layernorm: 'attn_norm',
    'self_attn.qkv_proj': 'attn_qkv',
    'self_attn.o_proj': 'attn_output',
    post_attention_layernorm: 'ffn_norm',
    'mlp.gate_up_proj': 'ffn_up',
    'mlp.down_proj': 'ffn_down',
  },
  ropePermute: false,
  requiredLayer: () => ['attn_norm', 'attn_qkv', 'attn_output', 'ffn_norm', 'ffn_up', 'ffn_down'],
};

/**
 * gpt-oss (llama.cpp's "gpt-oss", LLM_ARCH_OPENAI_MOE): attention with biases and learned per-head
 * sinks, a router with a bias, experts with biases, the pre-FFN norm named post_attention_norm.
 */
const GPT_OSS: ArchSpec = {
  ggufArch: 'gpt-oss',
  modelTypes: ['gpt_oss'],
  layer: {
    ...ATTENTION,
    'self_attn.sinks': 'attn_sinks',
    post_attention_layernorm: 'post_attention_norm',
    'mlp.router': 'ffn_gate_inp',
  },
  experts: { perExpert: {}, packed: GPT_OSS_EXPERTS },
  ropePermute: false,
  checkConfig: checkGptOssConfig,
  // llama.cpp's loader requires every bias but the q/k/v ones.
  requiredLayer: () => [
    ...ATTN_REQUIRED,
    'attn_output.bias',
    'attn_sinks',
    'post_attention_norm',
    ...MOE_REQUIRED,
    'ffn_gate_inp.bias',
    'ffn_gate_exps.bias',
    'ffn_up_exps.bias',
    'ffn_down_exps.bias',
  ],
};

export const ARCH_SPECS: readonly ArchSpec[] = [LLAMA, QWEN2, QWEN3, QWEN2MOE, QWEN3MOE, GEMMA2, GEMMA3, PHI3, GPT_OSS];

/** Hugging Face model types the converter knows but deliberately does not convert yet, and why. */
const NOT_YET: Readonly<Record<string, string>> = {};

export function supportedModelTypes(): string[] {
  return ARCH_SPECS.flatMap((s) => s.modelTypes);
}

/** The spec for a config's model_type, or an UnsupportedError naming what is supported. */
export function archSpecFor(h: Hparams): ArchSpec {
  const type = h.modelType;
  const spec = ARCH_SPECS.find((s) => s.modelTypes.includes(type));
  if (spec) {
    spec.checkConfig?.(spec.defaults ? h.withDefaults(spec.defaults) : h);
    return spec;
  }
  const why = NOT_YET[type] ? ` (${NOT_YET[type]})` : '';
  throw new UnsupportedError(
    `model_type "${type || '(none)'}"${why} cannot be converted to GGUF by Llama-Pajamas yet. Supported model types: ` +
      `${supportedModelTypes().join(', ')}`,
    { modelType: type, supported: supportedModelTypes() },
  );
}
