/**
 * The token-mixing half of a decoder layer, as llama.cpp's GGUF names it: softmax attention
 * (separate or fused QKV, biases, QK-norm, sinks, output gate), MLA with its low-rank projections
 * and the DeepSeek sparse-attention indexer, Mamba-1 and Mamba-2 blocks, Gated DeltaNet, and
 * LFM2's short convolution. Shapes are GGUF order ([in, out] for projections).
 */
import type { HfConfig } from '../hf/config';
import { boolField, field, numberField, positiveInt } from './config-fields';
import type { ModelTypeTraits } from './model-types';
import { blk, type TensorList } from './tensor-list';
import type { MlaInfo } from './types';

export interface AttentionDims {
  heads: number;
  kvHeads: number;
  headDim: number;
  /** False when keys double as values (Gemma 4 global layers, attention_k_eq_v). */
  hasValue: boolean;
}

export function softmaxAttention(b: TensorList, i: number, H: number, d: AttentionDims, t: ModelTypeTraits): void {
  const q = d.heads * d.headDim;
  const kv = d.kvHeads * d.headDim;
  const qOut = t.attentionOutputGate ? 2 * q : q;
  if (t.fusedQkv) {
    b.linear(blk(i, 'attn_qkv'), H, qOut + kv + (d.hasValue ? kv : 0), t.qkvBias);
  } else {
    b.linear(blk(i, 'attn_q'), H, qOut, t.qkvBias);
    b.linear(blk(i, 'attn_k'), H, kv, t.qkvBias);
    if (d.hasValue) b.linear(blk(i, 'attn_v'), H, kv, t.qkvBias);
  }
  b.linear(blk(i, 'attn_output'), q, H, t.oBias);
  if (t.qkNorm === 'head') {
    b.add(blk(i, 'attn_q_norm.weight'), [d.headDim]);
    b.add(blk(i, 'attn_k_norm.weight'), [d.headDim]);
  } else if (t.qkNorm === 'full') {
    b.add(blk(i, 'attn_q_norm.weight'), [q]);
    b.add(blk(i, 'attn_k_norm.weight'), [kv]);
  }
  if (t.attentionSinks) b.add(blk(i, 'attn_sinks.weight'), [d.heads]);
}

export function mlaAttention(b: TensorList, i: number, H: number, heads: number, m: MlaInfo, config: HfConfig, t: ModelTypeTraits): void {
  const qkDim = m.qkNopeHeadDim + m.qkRopeHeadDim;
  if (m.qLoraRank !== null) {
    b.linear(blk(i, 'attn_q_a'), H, m.qLoraRank);
    b.add(blk(i, 'attn_q_a_norm.weight'), [m.qLoraRank]);
    b.linear(blk(i, 'attn_q_b'), m.qLoraRank, heads * qkDim);
  } else {
    b.linear(blk(i, 'attn_q'), H, heads * qkDim);
  }
  b.linear(blk(i, 'attn_kv_a_mqa'), H, m.kvLoraRank + m.qkRopeHeadDim);
  b.add(blk(i, 'attn_kv_a_norm.weight'), [m.kvLoraRank]);
  if (t.mlaSplitKvB) {
    // The DeepSeek converter splits kv_b per head so the graph can absorb it into the query.
    b.add(blk(i, 'attn_k_b.weight'), [m.qkNopeHeadDim, m.kvLoraRank, heads]);
    b.add(blk(i, 'attn_v_b.weight'), [m.kvLoraRank, m.vHeadDim, heads]);
  } else {
    b.linear(blk(i, 'attn_kv_b'), m.kvLoraRank, heads * (m.qkNopeHeadDim + m.vHeadDim));
  }
  b.linear(blk(i, 'attn_output'), heads * m.vHeadDim, H);
  sparseAttentionIndexer(b, i, H, m, config);
}

/** DeepSeek sparse attention (DeepSeek-V3.2, GLM-5): a small scoring head per layer. */
function sparseAttentionIndexer(b: TensorList, i: number, H: number, m: MlaInfo, config: HfConfig): void {
  const heads = positiveInt(config, ['index_n_heads']);
  const dim = positiveInt(config, ['index_head_dim']);
  if (heads === undefined || dim === undefined) return;
  b.linear(blk(i, 'indexer.attn_q_b'), m.qLoraRank ?? H, heads * dim);
  b.linear(blk(i, 'indexer.attn_k'), H, dim);
  b.norm(blk(i, 'indexer.k_norm'), dim, 'layer');
  b.linear(blk(i, 'indexer.proj'), H, heads);
}

/** Mamba-2 when the config names heads or groups, else Mamba-1 (Jamba, Falcon-Mamba). */
export function mambaMixer(b: TensorList, i: number, H: number, config: HfConfig, ssmOnly: boolean): void {
  const mamba2Keys = ['mamba_num_heads', 'mamba_n_heads', 'mamba_head_dim', 'mamba_d_head', 'n_groups', 'mamba_n_groups'];
  if (mamba2Keys.some((k) => field(config, k) !== undefined && field(config, k) !== null)) mamba2(b, i, H, config, ssmOnly);
  else mamba1(b, i, H, config);
}

const DEFAULT_CONV_KERNEL = 4;
const DEFAULT_MAMBA2_HEAD_DIM = 64;
const DEFAULT_MAMBA_EXPAND = 2;

function mamba2(b: TensorList, i: number, H: number, config: HfConfig, ssmOnly: boolean): void {
  // A pure Mamba-2 config names its SSM heads plainly (num_heads, head_dim); in a hybrid those are attention's.
  const headDim =
    positiveInt(config, ssmOnly ? ['mamba_head_dim', 'mamba_d_head', 'head_dim'] : ['mamba_head_dim', 'mamba_d_head']) ??
    DEFAULT_MAMBA2_HEAD_DIM;
  const expand = numberField(config, ['mamba_expand', 'expand']) ?? DEFAULT_MAMBA_EXPAND;
  const givenHeads = positiveInt(
    config,
    ssmOnly ? ['mamba_num_heads', 'mamba_n_heads', 'num_heads'] : ['mamba_num_heads', 'mamba_n_heads'],
  );
  const inner = positiveInt(config, ['mamba_d_ssm', 'd_inner']) ?? (givenHeads ? givenHeads * headDim : Math.round(expand * H));
  const heads = givenHeads ?? inner / headDim;
  const groups = positiveInt(config, ['n_groups', 'mamba_n_groups']) ?? 1;
  const state = positiveInt(config, ['ssm_state_size', 'mamba_d_state', 'state_size']) ?? 128;
  const kernel = positiveInt(config, ['conv_kernel', 'mamba_d_conv', 'd_conv']) ?? DEFAULT_CONV_KERNEL;
  const convBias = boolField(config, ['use_conv_bias', 'mamba_conv_bias']) ?? true;
  const projBias = boolField(config, ssmOnly ? ['mamba_proj_bias', 'use_bias'] : ['mamba_proj_bias']) ?? false;
  const convDim = inner + 2 * groups * state;
  b.linear(blk(i, 'ssm_in'), H, 2 * inner + 2 * groups * state + heads, projBias);
  b.add(blk(i, 'ssm_conv1d.weight'), [kernel, convDim]);
  if (convBias) b.add(blk(i, 'ssm_conv1d.bias'), [convDim]);
  b.add(blk(i, 'ssm_dt.bias'), [heads]);
  b.add(blk(i, 'ssm_a'), [1, heads]);
  b.add(blk(i, 'ssm_d'), [1, heads]);
  b.add(blk(i, 'ssm_norm.weight'), [inner / groups, groups]);
  b.linear(blk(i, 'ssm_out'), inner, H, projBias);
}

function mamba1(b: TensorList, i: number, H: number, config: HfConfig): void {
  const expand = numberField(config, ['mamba_expand', 'expand']) ?? DEFAULT_MAMBA_EXPAND;
  const inner = positiveInt(config, ['intermediate_size_mamba', 'mamba_d_inner']) ?? Math.round(expand * H);
  const state = positiveInt(config, ['mamba_d_state', 'state_size', 'ssm_state_size']) ?? 16;
  const kernel = positiveInt(config, ['mamba_d_conv', 'conv_kernel', 'd_conv']) ?? DEFAULT_CONV_KERNEL;
  // dt_rank "auto" is ceil(hidden / 16), as in the Mamba reference code.
  const dtRank = positiveInt(config, ['mamba_dt_rank', 'time_step_rank', 'dt_rank']) ?? Math.ceil(H / 16);
  const convBias = boolField(config, ['mamba_conv_bias', 'use_conv_bias']) ?? true;
  const projBias = boolField(config, ['mamba_proj_bias', 'use_bias']) ?? false;
  b.linear(blk(i, 'ssm_in'), H, 2 * inner, projBias);
  b.add(blk(i, 'ssm_conv1d.weight'), [kernel, inner]);
  if (convBias) b.add(blk(i, 'ssm_conv1d.bias'), [inner]);
  b.linear(blk(i, 'ssm_x'), inner, dtRank + 2 * state);
  b.linear(blk(i, 'ssm_dt'), dtRank, inner, true);
  b.add(blk(i, 'ssm_a'), [state, inner]);
  b.add(blk(i, 'ssm_d'), [inner]);
  b.linear(blk(i, 'ssm_out'), inner, H, projBias);
  if (field(config, 'attn_layer_period') !== undefined) {
    // Jamba normalises dt, B and C inside the mixer.
    b.add(blk(i, 'ssm_dt_norm.weight'), [dtRank]);
    b.add(blk(i, 'ssm_b_norm.weight'), [state]);
    b.add(blk(i, 'ssm_c_norm.weight'), [state]);
  }
}

/** Gated DeltaNet (Qwen3-Next, Qwen3.5): linear attention with a gated output. */
export function gatedDeltaNet(b: TensorList, i: number, H: number, config: HfConfig, modelType: string, attention: AttentionDims): void {
  if (positiveInt(config, ['linear_num_key_heads', 'linear_num_value_heads']) === undefined) {
    genericLinearAttention(b, i, H, attention);
    return;
  }
  const kHeads = positiveInt(config, ['linear_num_key_heads']) ?? 16;
  const kDim = positiveInt(config, ['linear_key_head_dim']) ?? 128;
  const vHeads = positiveInt(config, ['linear_num_value_heads']) ?? 32;
  const vDim = positiveInt(config, ['linear_value_head_dim']) ?? 128;
  const kernel = positiveInt(config, ['linear_conv_kernel_dim']) ?? DEFAULT_CONV_KERNEL;
  const keyDim = kHeads * kDim;
  const valueDim = vHeads * vDim;
  b.linear(blk(i, 'attn_qkv'), H, 2 * keyDim + valueDim);
  b.linear(blk(i, 'attn_gate'), H, valueDim);
  b.add(blk(i, 'ssm_conv1d.weight'), [kernel, 2 * keyDim + valueDim]);
  b.add(blk(i, 'ssm_dt.bias'), [vHeads]);
  b.add(blk(i, 'ssm_a'), [vHeads]);
  if (modelType === 'qwen3_next') {
    b.linear(blk(i, 'ssm_ba'), H, 2 * vHeads); // Qwen3-Next fuses beta and alpha
  } else {
    b.linear(blk(i, 'ssm_beta'), H, vHeads);
    b.linear(blk(i, 'ssm_alpha'), H, vHeads);
  }
  b.add(blk(i, 'ssm_norm.weight'), [vDim]);
  b.linear(blk(i, 'ssm_out'), valueDim, H);
}

/**
 * Linear attention without Gated-DeltaNet fields (MiniMax-01's lightning attention): sized like
 * the model's softmax attention, with an output gate and a norm. An estimate, not a tensor map.
 */
function genericLinearAttention(b: TensorList, i: number, H: number, d: AttentionDims): void {
  const width = d.heads * d.headDim;
  b.linear(blk(i, 'attn_qkv'), H, 3 * width);
  b.linear(blk(i, 'attn_gate'), H, width);
  b.add(blk(i, 'ssm_norm.weight'), [width]);
  b.linear(blk(i, 'attn_output'), width, H);
}

/** LFM2's gated short convolution. */
export function shortConv(b: TensorList, i: number, H: number, config: HfConfig): void {
  const kernel = positiveInt(config, ['conv_L_cache', 'conv_kernel']) ?? 3;
  const bias = boolField(config, ['conv_bias']) ?? false;
  b.add(blk(i, 'shortconv.conv.weight'), [kernel, H]);
  b.linear(blk(i, 'shortconv.in_proj'), H, 3 * H, bias);
  b.linear(blk(i, 'shortconv.out_proj'), H, H, bias);
}
