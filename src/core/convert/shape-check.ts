/**
 * What config.json says each tensor's shape must be. A config that disagrees with the weights
 * (a wrong hidden_size, head count, expert count...) would give a GGUF that llama.cpp refuses or,
 * worse, misreads; the converter checks every tensor before writing anything.
 */
import { FormatError } from '../errors';
import type { ArchSpec } from './arch-specs';
import type { Hparams } from './hparams';

interface Dims {
  hidden: number;
  heads: number;
  q: number;
  kv: number;
  headDim: number;
  ff: number | undefined;
  expertFf: number | undefined;
  sharedFf: number | undefined;
  experts: number | undefined;
}

function dims(h: Hparams): Dims {
  const headDim = h.headDim;
  return {
    hidden: h.hiddenSize,
    heads: h.numHeads,
    q: h.numHeads * headDim,
    kv: h.numKvHeads * headDim,
    headDim,
    ff: h.num(['intermediate_size', 'n_inner', 'hidden_dim']),
    expertFf: h.num(['moe_intermediate_size']) ?? h.num(['intermediate_size']),
    sharedFf: h.num('shared_expert_intermediate_size'),
    experts: h.num(['num_local_experts', 'num_experts']),
  };
}

/** The Hugging Face (row-major) shape of one source tensor of GGUF base `base`, when known. */
function expected(base: string, suffix: string, d: Dims, spec: ArchSpec): (number | undefined)[] | undefined {
  const w = suffix === 'weight';
  switch (base) {
    case 'attn_norm':
    case 'ffn_norm':
    case 'post_attention_norm':
    case 'post_ffw_norm':
    case 'output_norm':
      return [d.hidden];
    case 'attn_q_norm':
    case 'attn_k_norm':
      return [d.headDim];
    case 'attn_q':
      return w ? [d.q, d.hidden] : [d.q];
    case 'attn_k':
    case 'attn_v':
      return w ? [d.kv, d.hidden] : [d.kv];
    case 'attn_output':
      return w ? [d.hidden, d.q] : [d.hidden];
    case 'attn_qkv':
      return w ? [d.q + 2 * d.kv, d.hidden] : [d.q + 2 * d.kv];
    case 'ffn_gate':
      return [d.ff, d.hidden];
    case 'ffn_up':
      return spec.ggufArch === 'phi3' ? [d.ff === undefined ? undefined : 2 * d.ff, d.hidden] : [d.ff, d.hidden];
    case 'ffn_down':
      return [d.hidden, d.ff];
    case 'ffn_gate_inp':
      return w ? [d.experts, d.hidden] : [d.experts];
    case 'attn_sinks':
      return [d.heads];
    case 'ffn_gate_shexp':
    case 'ffn_up_shexp':
      return [d.sharedFf, d.hidden];
    case 'ffn_down_shexp':
      return [d.hidden, d.sharedFf];
    case 'ffn_gate_inp_shexp':
      return [1, d.hidden];
    case 'ffn_gate_exps':
    case 'ffn_up_exps':
      return [d.expertFf, d.hidden];
    case 'ffn_down_exps':
      return [d.hidden, d.expertFf];
    case 'token_embd':
    case 'output':
      return [undefined, d.hidden];
    default:
      return undefined;
  }
}

/** Throws a FormatError naming the tensor and the config fields when a shape disagrees. */
export function checkShape(h: Hparams, spec: ArchSpec, base: string, suffix: string, hfName: string, shape: readonly number[]): void {
  const d = dims(h);
  const want = expected(base, suffix, d, spec);
  if (!want) return;
  // The GGUF records the FFN width from config.json, and llama.cpp cannot load an FFN without it.
  if ((base === 'ffn_gate' || base === 'ffn_up' || base === 'ffn_down') && d.ff === undefined) {
    throw new FormatError(`config.json has no intermediate_size, but the checkpoint has the FFN tensor ${hfName}`, {
      path: h.source,
      tensor: hfName,
    });
  }
  const ok = want.length === shape.length && want.every((n, i) => n === undefined || n === shape[i]);
  if (ok) return;
  const w = `[${want.map((n) => n ?? '*').join(', ')}]`;
  throw new FormatError(
    `config.json and the weights disagree: tensor ${hfName} has shape [${shape.join(', ')}], but the config ` +
      `(hidden_size ${h.hiddenSize}, ${h.numHeads} heads, ${h.numKvHeads} KV heads, head_dim ${h.headDim}` +
      `${h.num('intermediate_size') !== undefined ? `, intermediate_size ${h.num('intermediate_size')}` : ''}` +
      `${h.num(['num_local_experts', 'num_experts']) !== undefined ? `, ${h.num(['num_local_experts', 'num_experts'])} experts` : ''}) ` +
      `implies ${w}; ` +
      'use the config.json that came with these weights',
    { path: h.source, tensor: hfName },
  );
}
