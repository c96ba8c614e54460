/**
 * What each decoder layer does for token mixing, and the sliding window, from config fields:
 * an explicit `layer_types` / `layers_block_type` list, Nemotron-H's `hybrid_override_pattern`
 * (M = Mamba, * = attention, - = MLP, E = MoE), `full_attention_interval` (Qwen3-Next), Jamba's
 * `attn_layer_period`/`attn_layer_offset`, Llama 4's chunked attention (`attention_chunk_size`,
 * every 4th layer global), `sliding_window_pattern` (Gemma 3: N-1 sliding then 1 full), Qwen2's
 * `max_window_layers`, the model type's own alternation (Gemma 2), or one window on every layer
 * (Mistral).
 *
 * The window counts only when it restricts something: `use_sliding_window: false`, a missing or
 * zero window, or a window at least as long as the context disable it, and the layers it named
 * sliding are then full attention.
 */
import type { HfConfig } from '../hf/config';
import { boolField, intArrayField, positiveInt, stringArrayField, stringField } from './config-fields';
import type { ModelTypeTraits } from './model-types';
import type { AttentionPattern, LayerKind } from './types';

export interface LayerLayout {
  layerTypes: LayerKind[];
  slidingWindow: number | null;
  attentionPattern: AttentionPattern;
  /** The hybrid pattern string when the config has one (its E/- letters also say where the FFNs are). */
  hybridPattern: string | null;
}

/** Llama 4 makes every Nth layer a global NoPE layer when no_rope_layers is not given. */
const LLAMA4_DEFAULT_NOPE_INTERVAL = 4;

const LAYER_TYPE_NAMES: Record<string, LayerKind> = {
  full_attention: 'full_attention',
  attention: 'full_attention',
  full: 'full_attention',
  global: 'full_attention',
  global_attention: 'full_attention',
  sliding_attention: 'sliding_attention',
  sliding: 'sliding_attention',
  sliding_window: 'sliding_attention',
  local: 'sliding_attention',
  local_attention: 'sliding_attention',
  chunked_attention: 'chunked_attention',
  linear_attention: 'linear_attention',
  linear: 'linear_attention',
  gated_delta_net: 'linear_attention',
  deltanet: 'linear_attention',
  mamba: 'mamba',
  mamba2: 'mamba',
  ssm: 'mamba',
  conv: 'short_conv',
  short_conv: 'short_conv',
  shortconv: 'short_conv',
  mlp: 'mlp_only',
  mlp_only: 'mlp_only',
  moe: 'mlp_only',
};

const PATTERN_LETTERS: Record<string, LayerKind> = {
  M: 'mamba',
  '*': 'full_attention',
  '-': 'mlp_only',
  E: 'mlp_only',
};

export function detectLayerLayout(
  config: HfConfig,
  traits: ModelTypeTraits,
  numLayers: number,
  contextLength: number,
  warnings: string[],
): LayerLayout {
  const hybridPattern = stringField(config, ['hybrid_override_pattern']) ?? null;
  let types = rawLayerTypes(config, traits, numLayers, hybridPattern, warnings);
  if (types.length !== numLayers) {
    warnings.push(`the config lists ${types.length} layer types for ${numLayers} layers; the missing ones are taken as full attention`);
    types = Array.from({ length: numLayers }, (_, i) => types[i] ?? 'full_attention');
  }
  const window = effectiveWindow(config, traits, contextLength);
  if (window === null) types = types.map((t) => (t === 'sliding_attention' ? 'full_attention' : t));
  const slidingWindow = window !== null && types.includes('sliding_attention') ? window : null;
  return { layerTypes: types, slidingWindow, attentionPattern: attentionPattern(types), hybridPattern };
}

export function attentionPattern(types: readonly LayerKind[]): AttentionPattern {
  if (types.some((t) => t === 'linear_attention' || t === 'mamba' || t === 'short_conv')) return 'hybrid';
  if (types.includes('sliding_attention') && types.includes('full_attention')) return 'alternating';
  return 'uniform';
}

/** The sliding window when it restricts attention, else null. */
function effectiveWindow(config: HfConfig, traits: ModelTypeTraits, contextLength: number): number | null {
  if ((boolField(config, ['use_sliding_window']) ?? traits.useSlidingWindowDefault) === false) return null;
  const window = positiveInt(config, ['sliding_window', 'sliding_window_size']);
  if (window === undefined) return null;
  if (contextLength > 0 && window >= contextLength) return null;
  return window;
}

function rawLayerTypes(
  config: HfConfig,
  traits: ModelTypeTraits,
  n: number,
  hybridPattern: string | null,
  warnings: string[],
): LayerKind[] {
  // Pure SSMs have no attention; Falcon-H1 runs attention beside its SSM in every layer.
  if (traits.ssmOnly || traits.parallelSsm) return range(n, () => 'mamba');
  const listed = stringArrayField(config, ['layer_types', 'layers_block_type', 'block_types']);
  if (listed) return listed.map((name) => layerKindFromName(name, warnings));
  if (hybridPattern) {
    return [...hybridPattern].map((c) => {
      const kind = PATTERN_LETTERS[c];
      if (!kind) warnings.push(`unknown letter "${c}" in hybrid_override_pattern, taken as attention`);
      return kind ?? 'full_attention';
    });
  }
  // MiniMax-01: 1 = softmax attention, 0 = linear (lightning) attention.
  const attnTypes = intArrayField(config, ['attn_type_list']);
  if (attnTypes) return attnTypes.map((t) => (t === 1 ? 'full_attention' : 'linear_attention'));
  const interval = positiveInt(config, ['full_attention_interval']);
  if (interval !== undefined) return range(n, (i) => ((i + 1) % interval === 0 ? 'full_attention' : 'linear_attention'));
  const attnPeriod = positiveInt(config, ['attn_layer_period']);
  if (attnPeriod !== undefined) {
    const offset = positiveInt(config, ['attn_layer_offset']) ?? 0;
    return range(n, (i) => (i % attnPeriod === offset ? 'full_attention' : 'mamba'));
  }
  if (positiveInt(config, ['attention_chunk_size']) !== undefined) return chunkedLayers(config, n);
  return slidingLayers(config, traits, n);
}

function chunkedLayers(config: HfConfig, n: number): LayerKind[] {
  // no_rope_layers[i] = 1 means layer i uses RoPE with chunked local attention; 0 is a global NoPE layer.
  const ropeLayers = intArrayField(config, ['no_rope_layers']);
  if (ropeLayers && ropeLayers.length === n) return ropeLayers.map((r) => (r ? 'chunked_attention' : 'full_attention'));
  const interval = positiveInt(config, ['nope_layer_interval']) ?? LLAMA4_DEFAULT_NOPE_INTERVAL;
  return range(n, (i) => ((i + 1) % interval === 0 ? 'full_attention' : 'chunked_attention'));
}

function slidingLayers(config: HfConfig, traits: ModelTypeTraits, n: number): LayerKind[] {
  if (positiveInt(config, ['sliding_window', 'sliding_window_size']) === undefined) return range(n, () => 'full_attention');
  // EXAONE 4 writes the pattern as letters: "LLLG" (L = local/sliding, G = global/full), repeated.
  const letters = stringField(config, ['sliding_window_pattern']);
  if (letters && /^[LG]+$/i.test(letters)) {
    return range(n, (i) => (letters[i % letters.length]!.toUpperCase() === 'G' ? 'full_attention' : 'sliding_attention'));
  }
  const pattern = positiveInt(config, ['sliding_window_pattern', 'swa_pattern']) ?? traits.slidingPattern;
  if (pattern !== undefined && pattern > 1) {
    return range(n, (i) => ((i + 1) % pattern === 0 ? 'full_attention' : 'sliding_attention'));
  }
  // Qwen2 style: with use_sliding_window, layers from max_window_layers on use the window.
  const maxWindowLayers = positiveInt(config, ['max_window_layers']);
  if (boolField(config, ['use_sliding_window']) === true && maxWindowLayers !== undefined) {
    return range(n, (i) => (i >= maxWindowLayers ? 'sliding_attention' : 'full_attention'));
  }
  return range(n, () => 'sliding_attention');
}

function layerKindFromName(name: string, warnings: string[]): LayerKind {
  const kind = LAYER_TYPE_NAMES[name.toLowerCase()];
  if (kind) return kind;
  const message = `unknown layer type "${name}", taken as full attention`;
  if (!warnings.includes(message)) warnings.push(message);
  return 'full_attention';
}

function range<T>(n: number, f: (i: number) => T): T[] {
  return Array.from({ length: n }, (_, i) => f(i));
}
