/**
 * Mixture-of-experts fields under all their names, and which layers have a routed, a dense, or
 * no FFN at all.
 *
 * Expert count: num_local_experts (Mixtral, gpt-oss, Llama 4), num_experts (Qwen, OLMoE,
 * Gemma 4), n_routed_experts (DeepSeek, GLM, Nemotron), moe_num_experts (ERNIE, DBRX).
 * Experts per token: num_experts_per_tok, experts_per_token, top_k_experts, moe_top_k, moe_k.
 * Shared experts: n_shared_experts / num_shared_experts with the routed width (DeepSeek merges
 * them into one MLP of n x moe_intermediate_size), or a separate shared width
 * (shared_expert_intermediate_size, moe_shared_expert_intermediate_size, shared_intermediate_size;
 * a width of 0 means none). Llama 4 always has one shared expert of intermediate_size; Gemma 4's
 * always-on dense MLP beside the experts (enable_moe_block) counts as one.
 */
import type { HfConfig } from '../hf/config';
import { boolField, countField, intArrayField, numberField, positiveInt } from './config-fields';
import type { LayerKind, MoeInfo } from './types';

export type FfnKind = 'dense' | 'moe' | 'none';

export interface FfnLayout {
  moe: MoeInfo | null;
  /** Per decoder layer. */
  ffnKinds: FfnKind[];
  /** Width of the dense FFN layers (0 when there are none). */
  denseIntermediateSize: number;
  /** Per decoder layer, when the config lists one width per layer (Gemma 3n); else empty. */
  denseWidths: number[];
}

export const EXPERT_COUNT_KEYS = [
  'num_local_experts',
  'num_experts',
  'n_routed_experts',
  'moe_num_experts',
  'num_routed_experts',
  'n_experts',
  'ffn_config.moe_num_experts',
] as const;
export const EXPERTS_PER_TOKEN_KEYS = [
  'num_experts_per_tok',
  'experts_per_token',
  'top_k_experts',
  'num_experts_per_token',
  'moe_top_k',
  'moe_k',
  'num_selected_experts',
  'ffn_config.moe_top_k',
];
export const SHARED_COUNT_KEYS = ['n_shared_experts', 'num_shared_experts', 'moe_num_shared_experts', 'shared_expert_count'];
const SHARED_WIDTH_KEYS = ['shared_expert_intermediate_size', 'moe_shared_expert_intermediate_size', 'shared_intermediate_size'];
const EXPERT_WIDTH_KEYS = ['moe_intermediate_size', 'expert_intermediate_size', 'ffn_config.ffn_hidden_size', 'intermediate_size'];
/** Experts per token when the config has an expert count but no top-k (Mixtral's value). */
const DEFAULT_EXPERTS_PER_TOKEN = 2;

export function detectFfnLayout(
  config: HfConfig,
  modelType: string,
  layerTypes: readonly LayerKind[],
  hybridPattern: string | null,
  hiddenSize: number,
  warnings: string[],
  noFfn = false,
): FfnLayout {
  const numExperts = positiveInt(config, EXPERT_COUNT_KEYS);
  const widths = intArrayField(config, ['intermediate_size']);
  const denseWidths = widths && widths.length === layerTypes.length ? widths : [];
  const denseWidth = denseWidths.find((w) => w > 0) ?? denseIntermediateSize(config, modelType, hiddenSize);
  const isMoe = numExperts !== undefined && numExperts > 1;
  const ffnKinds = layerTypes.map((_, i): FfnKind => (noFfn ? 'none' : ffnKindOf(config, i, hybridPattern, isMoe)));
  if (!isMoe) return { moe: null, ffnKinds, denseIntermediateSize: noFfn ? 0 : denseWidth, denseWidths };

  let perToken = positiveInt(config, EXPERTS_PER_TOKEN_KEYS);
  if (perToken === undefined) {
    perToken = Math.min(DEFAULT_EXPERTS_PER_TOKEN, numExperts);
    warnings.push(`the config has ${numExperts} experts but no experts-per-token field; assumed ${perToken}`);
  }
  const expertWidth = positiveInt(config, EXPERT_WIDTH_KEYS) ?? 0;
  const shared = sharedExperts(config, modelType, expertWidth);
  const moe: MoeInfo = {
    numExperts,
    numExpertsPerToken: perToken,
    numSharedExperts: shared.count,
    expertIntermediateSize: expertWidth,
    sharedIntermediateSize: shared.width,
    denseLayers: ffnKinds.flatMap((k, i) => (k === 'dense' ? [i] : [])),
  };
  const everyLayerMoe = !ffnKinds.includes('dense');
  // intermediate_size is the expert width on Mixtral-style configs, not a dense FFN.
  const dense = everyLayerMoe && !usesSeparateDenseWidth(config) ? 0 : denseWidth;
  return { moe, ffnKinds, denseIntermediateSize: dense, denseWidths };
}

function usesSeparateDenseWidth(config: HfConfig): boolean {
  return positiveInt(config, ['moe_intermediate_size', 'expert_intermediate_size', 'intermediate_size_mlp']) !== undefined;
}

function sharedExperts(config: HfConfig, modelType: string, expertWidth: number): { count: number; width: number } {
  const count = countField(config, SHARED_COUNT_KEYS);
  const width = countField(config, SHARED_WIDTH_KEYS);
  if (width !== undefined) {
    if (width === 0) return { count: 0, width: 0 };
    return { count: count && count > 0 ? count : 1, width };
  }
  if (count !== undefined) return { count, width: count * expertWidth };
  const intermediate = positiveInt(config, ['intermediate_size']) ?? 0;
  if (modelType === 'llama4_text') return { count: 1, width: intermediate };
  if (boolField(config, ['enable_moe_block']) === true) return { count: 1, width: intermediate };
  return { count: 0, width: 0 };
}

/** Which kind of FFN layer i has; `isMoe` says the model has routed experts at all. */
function ffnKindOf(config: HfConfig, i: number, hybridPattern: string | null, isMoe: boolean): FfnKind {
  if (hybridPattern) {
    const c = hybridPattern[i];
    if (c === 'E') return isMoe ? 'moe' : 'dense';
    if (c === '-') return 'dense';
    return 'none';
  }
  if (!isMoe) return 'dense';
  const explicit = intArrayField(config, ['moe_layers']);
  if (explicit) return explicit.includes(i) ? 'moe' : 'dense';
  if (intArrayField(config, ['mlp_only_layers'])?.includes(i)) return 'dense';
  const firstDense = countField(config, ['first_k_dense_replace', 'first_k_dense', 'num_dense_layers']);
  if (firstDense !== undefined && i < firstDense) return 'dense';
  const freq = positiveInt(config, ['moe_layer_freq']);
  if (freq !== undefined && freq > 1 && i % freq !== 0) return 'dense';
  for (const key of ['decoder_sparse_step', 'interleave_moe_layer_step', 'moe_layer_interval']) {
    const step = positiveInt(config, [key]);
    if (step !== undefined && step > 1 && (i + 1) % step !== 0) return 'dense';
  }
  const period = positiveInt(config, ['expert_layer_period']);
  if (period !== undefined) {
    const offset = countField(config, ['expert_layer_offset']) ?? 0;
    if (i % period !== offset) return 'dense';
  }
  const start = countField(config, ['moe_layer_start_index']);
  if (start !== undefined && i < start) return 'dense';
  const end = numberField(config, ['moe_layer_end_index']);
  if (end !== undefined && end >= 0 && i > end) return 'dense';
  return 'moe';
}

/** Width of the dense FFN: Llama 4's intermediate_size_mlp, else intermediate_size and its aliases. */
function denseIntermediateSize(config: HfConfig, modelType: string, hiddenSize: number): number {
  const explicit = positiveInt(config, [
    'intermediate_size_mlp',
    'intermediate_size',
    'n_inner',
    'ffn_hidden_size',
    'ffn_dim',
    'd_ff',
    'block_ff_dim',
  ]);
  if (modelType === 'lfm2' || modelType === 'lfm2_moe') return lfm2FeedForward(config, explicit ?? 4 * hiddenSize);
  if (explicit !== undefined) return explicit;
  const ratio = numberField(config, ['expansion_ratio']);
  if (ratio !== undefined) return Math.round(ratio * hiddenSize);
  // GPT-2 family: n_inner null means 4 x hidden.
  return 4 * hiddenSize;
}

/** LFM2 shrinks its configured FFN width like Llama's original sizing rule. */
function lfm2FeedForward(config: HfConfig, width: number): number {
  if (boolField(config, ['block_auto_adjust_ff_dim']) !== true) return width;
  let ff = Math.trunc((2 * width) / 3);
  const multiplier = numberField(config, ['block_ffn_dim_multiplier']);
  if (multiplier !== undefined) ff = Math.trunc(multiplier * ff);
  const multipleOf = positiveInt(config, ['block_multiple_of']) ?? 256;
  return multipleOf * Math.ceil(ff / multipleOf);
}
