/**
 * config.json hyperparameters, read once and checked by meaning (./hyperparameters) before detect
 * loops over layers or convert writes a byte. Each quantity has many names across model families;
 * the first name present with a non-null value is the one used, so a present value that is not
 * usable (a string, a negative count, NaN, a count past its limit) is an error, never skipped.
 */
import type { HfConfig } from '../hf/config';
import { isJsonObject } from '../hf/config';
import { field } from './config-fields';
import type { CountKindName } from './hyperparameter-limits';
import { HyperparameterChecker, type RealKindName, configSource } from './hyperparameters';
import { EXPERT_COUNT_KEYS, EXPERTS_PER_TOKEN_KEYS, SHARED_COUNT_KEYS } from './moe';

export const HIDDEN_KEYS = ['hidden_size', 'n_embd', 'd_model', 'model_dim', 'dim'];
export const LAYER_KEYS = ['num_hidden_layers', 'n_layer', 'n_layers', 'num_layers'];
export const HEAD_KEYS = ['num_attention_heads', 'n_head', 'n_heads', 'num_heads'];
export const KV_HEAD_KEYS = ['num_key_value_heads', 'num_kv_heads', 'n_head_kv', 'n_kv_heads', 'attn_config.kv_n_heads'];
export const HEAD_DIM_KEYS = ['head_dim', 'attention_head_dim', 'kv_channels', 'head_size'];
export const CONTEXT_KEYS = [
  'max_position_embeddings',
  'n_positions',
  'max_sequence_length',
  'seq_length',
  'max_seq_len',
  'n_ctx',
  'max_seq_length',
  'model_max_length',
];
export const VOCAB_KEYS = ['vocab_size', 'padded_vocab_size', 'n_vocab'];
export const FFN_KEYS = ['intermediate_size', 'n_inner', 'ffn_hidden_size', 'ffn_dim', 'd_ff', 'hidden_dim'];
export const MTP_KEYS = ['num_nextn_predict_layers', 'mtp_num_hidden_layers', 'num_mtp_modules', 'n_mtp_layers'];
/** The RMSNorm epsilon; the other normalisation epsilons follow in EPSILON_KEYS. */
export const RMS_EPSILON_KEYS = ['rms_norm_eps', 'norm_eps'];
export const EPSILON_KEYS = [...RMS_EPSILON_KEYS, 'layer_norm_eps', 'layer_norm_epsilon', 'norm_epsilon', 'layernorm_epsilon'];
export const ROPE_THETA_KEYS = [
  'rope_theta',
  'rope_parameters.rope_theta',
  'rotary_emb_base',
  'rope_base',
  'attn_config.rope_theta',
  'rope_parameters.full_attention.rope_theta',
];
export const LOCAL_ROPE_THETA_KEYS = [
  'rope_parameters.sliding_attention.rope_theta',
  'rope_local_base_freq',
  'local_rope_theta',
  'swa_rope_theta',
];

/** A value read from config.json with the name it was read under. */
export interface ConfigValue<T> {
  field: string;
  value: T;
}

/** The checked hyperparameters; a quantity the config does not give is undefined. */
export interface ConfigHyperparameters {
  layers?: ConfigValue<number>;
  hidden?: ConfigValue<number>;
  heads?: ConfigValue<number | number[]>;
  kvHeads?: ConfigValue<number | number[]>;
  headDim?: ConfigValue<number>;
  ffn?: ConfigValue<number | number[]>;
  vocab?: ConfigValue<number>;
  context?: ConfigValue<number>;
  experts?: ConfigValue<number>;
  expertsUsed?: ConfigValue<number>;
  epsilon?: ConfigValue<number>;
  ropeTheta?: ConfigValue<number>;
}

/** The first of `keys` present with a non-null value. */
function firstPresent(config: HfConfig, keys: readonly string[]): ConfigValue<unknown> | undefined {
  for (const key of keys) {
    const value = field(config, key);
    if (value !== undefined && value !== null) return { field: key, value };
  }
  return undefined;
}

/**
 * Reads and checks the hyperparameters of a text config (a multimodal wrapper's language part);
 * throws a FormatError naming `path` and the field for the first value that makes no sense.
 */
export function checkConfigHyperparameters(config: HfConfig, path: string): ConfigHyperparameters {
  const c = new HyperparameterChecker(configSource(path));
  const count = (keys: readonly string[], kind: CountKindName): ConfigValue<number> | undefined => {
    const found = firstPresent(config, keys);
    return found && { field: found.field, value: c.count(found.field, found.value, kind)! };
  };
  const perLayer = (keys: readonly string[], kind: CountKindName, layers: number | undefined) => {
    const found = firstPresent(config, keys);
    return found && { field: found.field, value: c.countOrPerLayer(found.field, found.value, kind, layers)! };
  };
  // Real values have no aliases of another meaning: every name present is checked, the first is used.
  const real = (keys: readonly string[], kind: RealKindName): ConfigValue<number> | undefined => {
    const present = keys.map((key) => ({ field: key, value: field(config, key) })).filter((v) => v.value !== undefined && v.value !== null);
    const checked = present.map((v) => ({ field: v.field, value: c.real(v.field, v.value, kind)! }));
    return checked[0];
  };
  const layers = count(LAYER_KEYS, 'layers');
  const h: ConfigHyperparameters = {
    layers,
    hidden: count(HIDDEN_KEYS, 'hidden'),
    heads: perLayer(HEAD_KEYS, 'heads', undefined),
    kvHeads: perLayer(KV_HEAD_KEYS, 'kvHeads', undefined),
    headDim: count(HEAD_DIM_KEYS, 'headSize'),
    ffn: perLayer(FFN_KEYS, 'ffn', undefined),
    vocab: count(VOCAB_KEYS, 'vocab'),
    context: count(CONTEXT_KEYS, 'context'),
    experts: count(EXPERT_COUNT_KEYS, 'experts'),
    expertsUsed: count(EXPERTS_PER_TOKEN_KEYS, 'expertsUsed'),
    epsilon: real(EPSILON_KEYS, 'epsilon'),
    ropeTheta: real(ROPE_THETA_KEYS, 'ropeTheta'),
  };
  const mtp = count(MTP_KEYS, 'extraLayers');
  if (mtp && layers) c.atMost(mtp, layers, 'the prediction layers are counted among the layers');
  checkOtherCounts(config, c);
  real(LOCAL_ROPE_THETA_KEYS, 'ropeTheta');
  real(['partial_rotary_factor', 'rope_parameters.partial_rotary_factor', 'rotary_pct'], 'fraction');
  for (const key of ['attn_logit_softcapping', 'final_logit_softcapping']) real([key], 'softcap');
  checkRopeScaling(config, c);
  checkConsistency(config, h, c);
  return h;
}

/** Counts that size tensors but are not needed as values by the callers. */
function checkOtherCounts(config: HfConfig, c: HyperparameterChecker): void {
  const count = (keys: readonly string[], kind: CountKindName) => {
    const found = firstPresent(config, keys);
    if (found) c.count(found.field, found.value, kind);
  };
  count(SHARED_COUNT_KEYS, 'experts');
  for (const key of ['moe_intermediate_size', 'expert_intermediate_size', 'shared_expert_intermediate_size']) count([key], 'ffn');
  count(['moe_shared_expert_intermediate_size', 'shared_intermediate_size', 'intermediate_size_mlp'], 'ffn');
  // Python's json writes an unbounded window as Infinity: no window, as a missing one.
  const window = firstPresent(config, ['sliding_window', 'sliding_window_size']);
  if (window && window.value !== Infinity) c.count(window.field, window.value, 'window');
  count(['kv_lora_rank'], 'rank');
  count(['q_lora_rank'], 'rank');
  for (const key of ['qk_rope_head_dim', 'qk_nope_head_dim', 'v_head_dim', 'rotary_dim']) count([key], 'ropeDims');
}

function checkRopeScaling(config: HfConfig, c: HyperparameterChecker): void {
  for (const key of ['rope_scaling', 'rope_parameters']) {
    const scaling = field(config, key);
    if (!isJsonObject(scaling)) continue;
    c.real(`${key}.factor`, scaling.factor, 'ropeScale');
    c.count(`${key}.original_max_position_embeddings`, scaling.original_max_position_embeddings, 'context');
  }
}

function checkConsistency(config: HfConfig, h: ConfigHyperparameters, c: HyperparameterChecker): void {
  const heads = scalar(h.heads);
  const kvHeads = scalar(h.kvHeads);
  if (heads && kvHeads && kvHeads.value > 0) {
    c.multipleOf(heads, kvHeads, 'each key/value head serves a whole group of query heads');
  }
  const mla = firstPresent(config, ['kv_lora_rank']) !== undefined;
  if (heads && heads.value > 0 && h.hidden && !h.headDim && !mla && h.hidden.value % heads.value !== 0) {
    c.fail(
      `${c.source.label(h.hidden.field)} (${h.hidden.value}) is not a multiple of ${c.source.label(heads.field)} (${heads.value}), ` +
        'and no head_dim says how wide a head is',
    );
  }
  if (h.experts && h.expertsUsed) {
    c.atMost(h.expertsUsed, h.experts, 'a token cannot use more experts than the layer has');
    if (h.experts.value > 1 && h.expertsUsed.value === 0) {
      c.fail(`${c.source.label(h.expertsUsed.field)} is 0, but the model has ${h.experts.value} experts; each token must use at least one`);
    }
  }
  const rotary = firstPresent(config, ['rotary_dim']);
  const headDim =
    h.headDim ?? (heads && heads.value > 0 && h.hidden ? { field: 'hidden_size / heads', value: h.hidden.value / heads.value } : undefined);
  if (rotary && headDim && typeof rotary.value === 'number') {
    c.atMost({ field: rotary.field, value: rotary.value }, headDim, 'a head cannot rotate more dimensions than it has');
  }
}

function scalar(v: ConfigValue<number | number[]> | undefined): ConfigValue<number> | undefined {
  return v && typeof v.value === 'number' ? { field: v.field, value: v.value } : undefined;
}
