/**
 * The GGUF hyperparameter keys of each architecture, as llama.cpp's converter writes them from
 * config.json (TextModel.set_gguf_parameters and the per-model overrides) and as llama.cpp's
 * loader reads them.
 */
import { UnsupportedError } from '../errors';
import type { ArchSpec } from './arch-specs';
import { phi3PartialRotary } from './extra-tensors';
import { writeGptOssMetadata } from './gpt-oss';
import type { Hparams } from './hparams';
import { type KvBuilder } from './kv';

/** Writes the hyperparameters of `spec`'s architecture into `kv`. */
export function writeArchMetadata(kv: KvBuilder, spec: ArchSpec, h: Hparams, nVocab: number): void {
  switch (spec.ggufArch) {
    case 'gemma2':
      gemma2(kv, h);
      return;
    case 'phi3':
      phi3(kv, h);
      return;
    default:
      common(kv, h);
  }
  if (spec.ggufArch === 'llama') {
    kv.u32(kv.key('vocab_size'), nVocab);
    kv.u32(kv.key('rope.dimension_count'), h.num('head_dim') ?? h.hiddenSize / h.numHeads);
  }
  if (spec.ggufArch === 'qwen2moe' || spec.ggufArch === 'qwen3moe') {
    const expertFf = h.num('moe_intermediate_size');
    if (expertFf !== undefined) kv.u32(kv.key('expert_feed_forward_length'), expertFf);
    const sharedFf = h.num('shared_expert_intermediate_size');
    if (sharedFf !== undefined) kv.u32(kv.key('expert_shared_feed_forward_length'), sharedFf);
  }
  if (spec.ggufArch === 'gemma3') gemma3(kv, h);
  if (spec.ggufArch === 'gpt-oss') writeGptOssMetadata(kv, h);
}

/** The keys every text model gets (llama.cpp TextModel.set_gguf_parameters). */
function common(kv: KvBuilder, h: Hparams): void {
  kv.u32(kv.key('block_count'), h.numLayers);
  const ctx = h.contextLength;
  if (ctx !== undefined) kv.u32(kv.key('context_length'), ctx);
  kv.u32(kv.key('embedding_length'), h.hiddenSize);
  const ff = h.num(['intermediate_size', 'n_inner', 'hidden_dim']);
  if (ff !== undefined) kv.u32(kv.key('feed_forward_length'), ff);
  kv.u32(kv.key('attention.head_count'), h.numHeads);
  const kvHeads = h.num(['num_key_value_heads', 'n_kv_heads']);
  if (kvHeads !== undefined) kv.u32(kv.key('attention.head_count_kv'), kvHeads);
  ropeScaling(kv, h);
  const rope = h.rope;
  if (rope.theta !== undefined) kv.f32(kv.key('rope.freq_base'), rope.theta);
  if (rope.localTheta !== undefined) kv.f32(kv.key('rope.freq_base_swa'), rope.localTheta);
  // llama.cpp cannot load these architectures without the epsilon; a config that leaves it out
  // means the transformers class default (1e-6; MixtralConfig's is 1e-5).
  kv.f32(kv.key('attention.layer_norm_rms_epsilon'), h.normEpsilon ?? (h.modelType === 'mixtral' ? 1e-5 : 1e-6));
  const experts = h.expertCount;
  if (experts !== undefined) kv.u32(kv.key('expert_count'), experts);
  const used = h.expertsPerToken;
  if (used !== undefined) kv.u32(kv.key('expert_used_count'), used);
  const headDim = h.num('head_dim');
  if (headDim !== undefined) {
    kv.u32(kv.key('attention.key_length'), headDim);
    kv.u32(kv.key('attention.value_length'), headDim);
  }
}

function ropeScaling(kv: KvBuilder, h: Hparams): void {
  const { type, params } = h.rope;
  if (!type) return;
  const factor = typeof params.factor === 'number' ? params.factor : undefined;
  const setF = (suffix: string, key: string): void => {
    if (typeof params[key] === 'number') kv.f32(kv.key(suffix), params[key] as number);
  };
  switch (type.toLowerCase()) {
    case 'linear':
      if (factor === undefined) return;
      kv.str(kv.key('rope.scaling.type'), 'linear').f32(kv.key('rope.scaling.factor'), factor);
      return;
    case 'yarn':
      if (factor === undefined) return;
      kv.str(kv.key('rope.scaling.type'), 'yarn').f32(kv.key('rope.scaling.factor'), factor);
      if (typeof params.original_max_position_embeddings === 'number') {
        kv.u32(kv.key('rope.scaling.original_context_length'), params.original_max_position_embeddings);
      }
      setF('rope.scaling.yarn_ext_factor', 'extrapolation_factor');
      if (typeof params.attention_factor === 'number') kv.f32(kv.key('rope.scaling.yarn_attn_factor'), params.attention_factor);
      else setF('rope.scaling.yarn_attn_factor', 'attn_factor');
      setF('rope.scaling.yarn_beta_fast', 'beta_fast');
      setF('rope.scaling.yarn_beta_slow', 'beta_slow');
      return;
    case 'su':
    case 'longrope':
      kv.str(kv.key('rope.scaling.type'), 'longrope');
      return;
    case 'llama3': // rope_freqs.weight carries it
    case 'default':
      return;
    default:
      throw new UnsupportedError(
        `rope scaling type "${type}" is not supported by the converter (supported: linear, yarn, llama3, longrope)`,
      );
  }
}

function gemma2(kv: KvBuilder, h: Hparams): void {
  kv.u32(kv.key('context_length'), h.int('max_position_embeddings'));
  kv.u32(kv.key('embedding_length'), h.hiddenSize);
  kv.u32(kv.key('block_count'), h.numLayers);
  kv.u32(kv.key('feed_forward_length'), h.int('intermediate_size'));
  kv.u32(kv.key('attention.head_count'), h.numHeads);
  kv.u32(kv.key('attention.head_count_kv'), h.numKvHeads);
  kv.f32(kv.key('attention.layer_norm_rms_epsilon'), h.num('rms_norm_eps') ?? 1e-6);
  kv.u32(kv.key('attention.key_length'), h.int('head_dim'));
  kv.u32(kv.key('attention.value_length'), h.int('head_dim'));
  const attnCap = h.num('attn_logit_softcapping');
  if (attnCap !== undefined) kv.f32(kv.key('attn_logit_softcapping'), attnCap);
  const finalCap = h.num('final_logit_softcapping');
  if (finalCap !== undefined) kv.f32(kv.key('final_logit_softcapping'), finalCap);
  kv.u32(kv.key('attention.sliding_window'), h.int('sliding_window'));
  const theta = h.rope.theta;
  if (theta !== undefined && theta !== 10000) kv.f32(kv.key('rope.freq_base'), theta);
}

function gemma3(kv: KvBuilder, h: Hparams): void {
  kv.u32(kv.key('context_length'), h.num('max_position_embeddings') ?? 131072);
  kv.f32(kv.key('attention.layer_norm_rms_epsilon'), h.num('rms_norm_eps') ?? 1e-6);
  kv.u32(kv.key('attention.key_length'), h.num('head_dim') ?? 256);
  kv.u32(kv.key('attention.value_length'), h.num('head_dim') ?? 256);
  kv.f32(kv.key('rope.freq_base'), h.rope.theta ?? 1_000_000);
  const finalCap = h.num('final_logit_softcapping');
  if (finalCap) kv.f32(kv.key('final_logit_softcapping'), finalCap);
  const period = gemma3SlidingPeriod(h);
  if (period !== 1) kv.u32(kv.key('attention.sliding_window'), h.int('sliding_window'));
  if (period !== undefined && period !== 1 && period !== 6) kv.u32(kv.key('attention.sliding_window_pattern'), period);
}

/**
 * Every `period`-th layer is global, the rest sliding (llama.cpp's swa pattern). From
 * sliding_window_pattern, or from layer_types when they follow that rule; undefined when absent.
 */
function gemma3SlidingPeriod(h: Hparams): number | undefined {
  const declared = h.num('sliding_window_pattern');
  if (declared !== undefined) return declared;
  const types = h.raw.layer_types;
  if (!Array.isArray(types) || types.length === 0) return undefined;
  const firstFull = types.indexOf('full_attention');
  if (firstFull < 0) return 0;
  const period = firstFull + 1;
  const regular = types.every((t, i) => (t === 'full_attention') === (i % period === period - 1));
  if (!regular)
    throw new UnsupportedError(`gemma3 layer_types ${JSON.stringify(types)} do not follow a fixed period, which llama.cpp needs`);
  return period;
}

function phi3(kv: KvBuilder, h: Hparams): void {
  const nEmbd = h.hiddenSize;
  const nHead = h.numHeads;
  const rope = h.rope;
  const origCtx =
    typeof rope.params.original_max_position_embeddings === 'number'
      ? rope.params.original_max_position_embeddings
      : h.num('original_max_position_embeddings');
  kv.u32(kv.key('context_length'), h.int(['n_positions', 'max_position_embeddings']));
  if (origCtx !== undefined) kv.u32(kv.key('rope.scaling.original_context_length'), origCtx);
  kv.u32(kv.key('embedding_length'), nEmbd);
  kv.u32(kv.key('feed_forward_length'), h.int('intermediate_size'));
  kv.u32(kv.key('block_count'), h.numLayers);
  kv.u32(kv.key('attention.head_count'), nHead);
  kv.u32(kv.key('attention.head_count_kv'), h.numKvHeads);
  kv.f32(kv.key('attention.layer_norm_rms_epsilon'), h.num('rms_norm_eps') ?? 1e-5);
  kv.u32(kv.key('rope.dimension_count'), Math.floor((phi3PartialRotary(h) * nEmbd) / nHead));
  kv.f32(kv.key('rope.freq_base'), rope.theta ?? 10000);
  kv.u32(kv.key('attention.sliding_window'), h.num('sliding_window') ?? 0);
  const long = rope.params.long_factor;
  if (Array.isArray(long) && long.length && origCtx) {
    const scale = h.int(['n_positions', 'max_position_embeddings']) / origCtx;
    const type = (rope.type ?? '').toLowerCase();
    const attnFactor =
      type === 'yarn' ? (scale > 1 ? 0.1 * Math.log(scale) + 1 : 1) : scale > 1 ? Math.sqrt(1 + Math.log(scale) / Math.log(origCtx)) : 1;
    kv.f32(kv.key('rope.scaling.attn_factor'), attnFactor);
  }
}
