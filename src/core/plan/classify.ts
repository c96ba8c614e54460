/**
 * Reading a GGUF tensor name: which kind of tensor it is, which layer it belongs to, and whether
 * llama-quantize is allowed to quantize it at all. The "stock" helpers mirror llama.cpp's own
 * name tests (src/llama-quant.cpp of the pinned release) so the stock recipe can be predicted
 * exactly; `tensorKind` is Llama-Pajamas' finer classification used by its own rules.
 */
import type { TensorKind } from './types';

/**
 * Substrings that make llama-quantize leave a tensor as it is (norms, routers, small or
 * structural tensors). Mirrors `tensor_allows_quantization`.
 */
const NEVER_QUANTIZED_SUBSTRINGS = [
  '_norm.weight',
  'ffn_gate_inp.weight',
  'ffn_gate_tid2eid.weight',
  'altup',
  'laurel',
  'per_layer_model_proj',
  'ssm_conv1d',
  'shortconv.conv.weight',
  'indexer.k_proj.weight',
  'indexer.q_proj.weight',
  'time_mix_first.weight',
  'time_mix_w0.weight',
  'time_mix_w1.weight',
  'time_mix_w2.weight',
  'time_mix_v0.weight',
  'time_mix_v1.weight',
  'time_mix_v2.weight',
  'time_mix_a0.weight',
  'time_mix_a1.weight',
  'time_mix_a2.weight',
  'time_mix_g1.weight',
  'time_mix_g2.weight',
  'time_mix_decay_w1.weight',
  'time_mix_decay_w2.weight',
  'time_mix_lerp_fused.weight',
  'attn_rel_b.weight',
  '.position_embd',
  'sam.pos_embd',
  'sam.neck.',
  'sam.net_',
  '.rel_pos',
  '.patch_embd',
  '.patch_merger',
  'a.rvq.codebook',
  'mm.a.code_embd',
];

const NEVER_QUANTIZED_NAMES = new Set(['position_embd.weight', 'token_types.weight']);

/** Whether llama-quantize may change this tensor's type (2-D/3-D weights that are not excluded). */
export function stockAllowsQuantization(name: string, shape: readonly number[]): boolean {
  const dims = effectiveDims(shape);
  if (dims < 2) return false;
  if (!name.endsWith('weight')) return false;
  if (NEVER_QUANTIZED_NAMES.has(name)) return false;
  return !NEVER_QUANTIZED_SUBSTRINGS.some((s) => name.includes(s));
}

/** ggml_n_dims: trailing dimensions of size 1 do not count. */
function effectiveDims(shape: readonly number[]): number {
  let n = shape.length;
  while (n > 1 && shape[n - 1] === 1) n--;
  return n;
}

/** llama.cpp's broad tensor categories (tensor_get_category), first match wins. */
export type StockCategory =
  | 'output'
  | 'token_embd'
  | 'attn_qkv'
  | 'attn_kv_b'
  | 'attn_v'
  | 'attn_k'
  | 'attn_q'
  | 'attn_output'
  | 'ffn_up'
  | 'ffn_gate'
  | 'ffn_down'
  | 'other';

export function stockCategory(name: string): StockCategory {
  if (name === 'output.weight') return 'output';
  if (name === 'token_embd.weight' || name === 'per_layer_token_embd.weight') return 'token_embd';
  if (name.includes('attn_qkv.weight')) return 'attn_qkv';
  if (name.includes('attn_kv_b.weight')) return 'attn_kv_b';
  if (name.includes('attn_v.weight')) return 'attn_v';
  if (name.includes('attn_k.weight')) return 'attn_k';
  if (name.includes('attn_q.weight')) return 'attn_q';
  if (name.includes('attn_output.weight')) return 'attn_output';
  if (name.includes('ffn_up')) return 'ffn_up';
  if (name.includes('ffn_gate')) return 'ffn_gate';
  if (name.includes('ffn_down')) return 'ffn_down';
  return 'other';
}

/** attn_v-like categories: llama.cpp gives them more bits and counts them together. */
export function isStockAttnV(category: StockCategory): boolean {
  return category === 'attn_v' || category === 'attn_qkv' || category === 'attn_kv_b';
}

/** Suffix (after "blk.N.") -> kind. Order matters: more specific names first. */
const KIND_BY_SUFFIX: ReadonlyArray<readonly [RegExp, TensorKind]> = [
  [/^attn_qkv\.weight$/, 'attn_qkv'],
  [/^attn_q_a\.weight$/, 'attn_q_a'],
  [/^attn_q_b\.weight$/, 'attn_q_b'],
  [/^attn_kv_a_mqa\.weight$/, 'attn_kv_a'],
  [/^attn_kv_b\.weight$/, 'attn_kv_b'],
  [/^attn_k_b\.weight$/, 'attn_k_b'],
  [/^attn_v_b\.weight$/, 'attn_v_b'],
  [/^attn_q\.weight$/, 'attn_q'],
  [/^attn_k\.weight$/, 'attn_k'],
  [/^attn_v\.weight$/, 'attn_v'],
  [/^attn_output\.weight$/, 'attn_output'],
  [/^attn_gate\.weight$/, 'linear_attn'],
  [/^ffn_gate_inp\.weight$/, 'router'],
  [/^ffn_gate_inp_shexp\.weight$/, 'shexp_gate'],
  [/^ffn_gate_exps\.weight$/, 'ffn_gate_exps'],
  [/^ffn_up_exps\.weight$/, 'ffn_up_exps'],
  [/^ffn_down_exps\.weight$/, 'ffn_down_exps'],
  [/^ffn_gate_shexp\.weight$/, 'ffn_gate_shexp'],
  [/^ffn_up_shexp\.weight$/, 'ffn_up_shexp'],
  [/^ffn_down_shexp\.weight$/, 'ffn_down_shexp'],
  [/^ffn_gate\.weight$/, 'ffn_gate'],
  [/^ffn_up\.weight$/, 'ffn_up'],
  [/^ffn_down\.weight$/, 'ffn_down'],
  [/^ssm_/, 'ssm'],
  [/^(time_mix|channel_mix|attn_qkv_linear|linear_attn|ssm_beta_alpha|ssm_ba)/, 'linear_attn'],
];

/** Llama-Pajamas' classification of a GGUF tensor name. */
export function tensorKind(name: string): TensorKind {
  if (name === 'token_embd.weight' || name === 'per_layer_token_embd.weight') return 'token_embd';
  if (name === 'output.weight') return 'output';
  if (/_norm(\.weight|\.bias)?$/.test(name) || /_norm_\w+\.weight$/.test(name)) return 'norm';
  const m = /^blk\.\d+\.(.+)$/.exec(name);
  if (!m) return 'other';
  const suffix = m[1]!;
  for (const [pattern, kind] of KIND_BY_SUFFIX) if (pattern.test(suffix)) return kind;
  return 'other';
}

export const EXPERT_KINDS: ReadonlySet<TensorKind> = new Set(['ffn_gate_exps', 'ffn_up_exps', 'ffn_down_exps']);
export const SHARED_EXPERT_KINDS: ReadonlySet<TensorKind> = new Set(['ffn_gate_shexp', 'ffn_up_shexp', 'ffn_down_shexp']);
export const ATTENTION_KINDS: ReadonlySet<TensorKind> = new Set([
  'attn_q',
  'attn_k',
  'attn_v',
  'attn_qkv',
  'attn_output',
  'attn_q_a',
  'attn_q_b',
  'attn_kv_a',
  'attn_kv_b',
  'attn_k_b',
  'attn_v_b',
]);
