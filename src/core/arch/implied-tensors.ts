/**
 * The tensors a model of a given config has, named and shaped as llama.cpp names them in GGUF
 * (checked against the pinned release's src/models/*.cpp and gguf-py constants). The plan uses
 * this list for a bare config, and the computed parameter count is its sum, so both always agree.
 *
 * What the list cannot know is marked, not guessed silently: tensors the converter generates
 * (rope frequency tables) and buffers carry `notParameter`; hfName is null (the converter's
 * `modelTensorsFromSafetensors` gives real HF names when weights are present). Vision towers and
 * multi-token-prediction layers are not part of the language model and are never listed.
 */
import type { HfConfig } from '../hf/config';
import { languageConfig } from './class-defaults';
import { boolField, positiveInt, stringField } from './config-fields';
import { type AttentionDims, gatedDeltaNet, mambaMixer, mlaAttention, shortConv, softmaxAttention } from './implied-mixers';
import type { ModelTensor } from './model-tensor';
import { type ModelTypeTraits, resolveTraits } from './model-types';
import { detectFfnLayout, type FfnKind } from './moe';
import { blk, TensorList } from './tensor-list';
import type { ArchitectureInfo, LayerKind, MoeInfo } from './types';

interface Context {
  info: ArchitectureInfo;
  config: HfConfig;
  traits: ModelTypeTraits;
  H: number;
  ffnKinds: FfnKind[];
  denseWidth: number;
  /** One width per layer when the config lists them. */
  denseWidths: number[];
}

export function impliedTensors(info: ArchitectureInfo, config: HfConfig): ModelTensor[] {
  const text = languageConfig(config).config;
  const traits = resolveTraits(text, info.modelType);
  const pattern = stringField(text, ['hybrid_override_pattern']) ?? null;
  const layout = detectFfnLayout(text, info.modelType, info.layerTypes, pattern, info.hiddenSize, [], traits.ssmOnly);
  const ctx: Context = {
    info,
    config: text,
    traits,
    H: info.hiddenSize,
    ffnKinds: layout.ffnKinds,
    denseWidth: layout.denseIntermediateSize || positiveInt(text, ['intermediate_size']) || 4 * info.hiddenSize,
    denseWidths: layout.denseWidths,
  };
  const b = new TensorList();
  embeddings(b, ctx);
  for (let i = 0; i < info.numLayers; i++) decoderLayer(b, ctx, i);
  b.norm('output_norm', ctx.H, traits.norm);
  if (!info.tiedEmbeddings) b.add('output.weight', [ctx.H, info.vocabSize]);
  ropeTables(b, ctx);
  return b.tensors;
}

function embeddings(b: TensorList, ctx: Context): void {
  const { info, H } = ctx;
  b.add('token_embd.weight', [H, info.vocabSize]);
  if (ctx.traits.learnedPositions) b.add('position_embd.weight', [H, info.contextLength]);
  // Gemma 3n/4 small models: a second, per-layer embedding table and its projection.
  const perLayer = positiveInt(ctx.config, ['hidden_size_per_layer_input']);
  if (perLayer !== undefined) {
    const vocab = positiveInt(ctx.config, ['vocab_size_per_layer_input']) ?? info.vocabSize;
    b.add('per_layer_token_embd.weight', [perLayer * info.numLayers, vocab]);
    b.add('per_layer_model_proj.weight', [H, perLayer * info.numLayers]);
    b.add('per_layer_proj_norm.weight', [perLayer]);
  }
}

function decoderLayer(b: TensorList, ctx: Context, i: number): void {
  const { info, traits, H } = ctx;
  const kind = info.layerTypes[i] ?? 'full_attention';
  const ffn = ctx.ffnKinds[i] ?? 'dense';
  const hasMixer = kind !== 'mlp_only';
  const layout = traits.normLayout;
  if (hasMixer && (layout === 'pre' || layout === 'sandwich')) b.norm(blk(i, 'attn_norm'), H, traits.norm);
  if (layout === 'single') b.norm(blk(i, 'attn_norm'), H, traits.norm);
  if (hasMixer) mixer(b, ctx, i, kind);
  if (hasMixer && (layout === 'post' || layout === 'sandwich')) b.norm(blk(i, 'post_attention_norm'), H, traits.norm);
  if (ffn !== 'none' && (layout === 'pre' || layout === 'sandwich')) {
    b.norm(blk(i, traits.ffnNormIsPostAttention ? 'post_attention_norm' : 'ffn_norm'), H, traits.norm);
  }
  if (ffn === 'dense') denseFfn(b, ctx, i, ctx.denseWidths[i] ?? ctx.denseWidth, '');
  if (ffn === 'moe' && info.moe) moeFfn(b, ctx, i, info.moe);
  if (ffn !== 'none' && (layout === 'post' || layout === 'sandwich')) b.norm(blk(i, 'post_ffw_norm'), H, traits.norm);
  if (info.modelType.startsWith('gemma4')) {
    b.add(blk(i, 'layer_output_scale.weight'), [1], { notParameter: true }); // a buffer, not a parameter
  }
  perLayerInput(b, ctx, i);
}

function mixer(b: TensorList, ctx: Context, i: number, kind: LayerKind): void {
  const { info, config, traits, H } = ctx;
  switch (kind) {
    case 'full_attention':
    case 'sliding_attention':
    case 'chunked_attention':
      if (info.mla) mlaAttention(b, i, H, info.numAttentionHeads, info.mla, config, traits);
      else softmaxAttention(b, i, H, attentionDims(ctx, kind), traits);
      return;
    case 'linear_attention':
      gatedDeltaNet(b, i, H, config, info.modelType, attentionDims(ctx, kind));
      return;
    case 'mamba':
      if (traits.parallelSsm) softmaxAttention(b, i, H, attentionDims(ctx, kind), traits);
      mambaMixer(b, i, H, config, traits.ssmOnly);
      return;
    case 'short_conv':
      shortConv(b, i, H, config);
      return;
    case 'mlp_only':
      return;
    default: {
      const unreachable: never = kind;
      return unreachable;
    }
  }
}

/** Per-layer attention shape: Gemma 4's global layers have their own head size and KV heads. */
function attentionDims(ctx: Context, kind: LayerKind): AttentionDims {
  const { info, config } = ctx;
  const base: AttentionDims = {
    heads: info.numAttentionHeads,
    kvHeads: info.numKeyValueHeads ?? info.numAttentionHeads,
    headDim: info.headDim,
    hasValue: true,
  };
  if (kind !== 'full_attention' || !info.layerTypes.includes('sliding_attention')) return base;
  const globalHeadDim = positiveInt(config, ['global_head_dim']);
  const globalKv = positiveInt(config, ['num_global_key_value_heads']);
  return {
    ...base,
    headDim: globalHeadDim ?? base.headDim,
    kvHeads: globalKv ?? base.kvHeads,
    hasValue: boolField(config, ['attention_k_eq_v']) !== true,
  };
}

/** A dense MLP; `suffix` '_shexp' makes it a shared expert. */
function denseFfn(b: TensorList, ctx: Context, i: number, width: number, suffix: '' | '_shexp'): void {
  const { traits, H } = ctx;
  const bias = traits.mlpBias && suffix === '';
  if (traits.fusedGateUp && suffix === '') {
    b.linear(blk(i, 'ffn_up'), H, 2 * width, bias);
  } else {
    if (traits.gatedMlp) b.linear(blk(i, `ffn_gate${suffix}`), H, width, bias);
    b.linear(blk(i, `ffn_up${suffix}`), H, width, bias);
  }
  b.linear(blk(i, `ffn_down${suffix}`), width, H, bias);
}

function moeFfn(b: TensorList, ctx: Context, i: number, moe: MoeInfo): void {
  const { traits, H, config } = ctx;
  const E = moe.numExperts;
  const w = moe.expertIntermediateSize;
  // Gemma 4: a dense MLP runs beside the experts (the "shared expert"), with extra norms and scales.
  const besideDense = boolField(config, ['enable_moe_block']) === true;
  if (besideDense) {
    denseFfn(b, ctx, i, moe.sharedIntermediateSize, '');
    for (const n of ['pre_ffw_norm_2', 'post_ffw_norm_1', 'post_ffw_norm_2']) b.norm(blk(i, n), H, traits.norm);
    b.add(blk(i, 'ffn_gate_inp.scale'), [H]);
    b.add(blk(i, 'ffn_down_exps.scale'), [E]);
  }
  b.linear(blk(i, 'ffn_gate_inp'), H, E, traits.routerBias);
  if (traits.expertSelectionBias) b.add(blk(i, 'exp_probs_b.bias'), [E]);
  // MXFP4 checkpoints (gpt-oss) keep their experts in MXFP4 blocks of 32; the GGUF keeps them so too.
  const mxfp4 = ctx.info.sourceQuantization?.method === 'mxfp4' && H % 32 === 0 && w % 32 === 0 ? { sourceDtype: 'MXFP4' } : {};
  if (traits.gatedMlp) b.add(blk(i, 'ffn_gate_exps.weight'), [H, w, E], mxfp4);
  b.add(blk(i, 'ffn_up_exps.weight'), [H, w, E], mxfp4);
  b.add(blk(i, 'ffn_down_exps.weight'), [w, H, E], mxfp4);
  if (traits.expertBiases) {
    if (traits.gatedMlp) b.add(blk(i, 'ffn_gate_exps.bias'), [w, E]);
    b.add(blk(i, 'ffn_up_exps.bias'), [w, E]);
    b.add(blk(i, 'ffn_down_exps.bias'), [H, E]);
  }
  if (!besideDense && moe.numSharedExperts > 0 && moe.sharedIntermediateSize > 0) {
    if (traits.sharedExpertGate) b.add(blk(i, 'ffn_gate_inp_shexp.weight'), [H]);
    denseFfn(b, ctx, i, moe.sharedIntermediateSize, '_shexp');
  }
}

function perLayerInput(b: TensorList, ctx: Context, i: number): void {
  const width = positiveInt(ctx.config, ['hidden_size_per_layer_input']);
  if (width === undefined) return;
  b.linear(blk(i, 'inp_gate'), ctx.H, width);
  b.linear(blk(i, 'proj'), width, ctx.H);
  b.add(blk(i, 'post_norm.weight'), [ctx.H]);
}

/** Frequency tables llama.cpp's converter generates from rope_scaling; not trained parameters. */
function ropeTables(b: TensorList, ctx: Context): void {
  const scaling = ctx.info.rope.scaling;
  const type = typeof scaling?.rope_type === 'string' ? scaling.rope_type : typeof scaling?.type === 'string' ? scaling.type : undefined;
  const rotated = Math.round(ctx.info.headDim * ctx.info.rope.partialRotaryFactor);
  if (type === 'llama3') b.add('rope_freqs.weight', [rotated / 2], { notParameter: true });
  if (type === 'longrope' && !ctx.info.mla) {
    b.add('rope_factors_long.weight', [rotated / 2], { notParameter: true });
    b.add('rope_factors_short.weight', [rotated / 2], { notParameter: true });
  }
}
