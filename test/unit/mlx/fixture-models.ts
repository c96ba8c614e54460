/**
 * Tiny HF model folders for the MLX writer tests (dense Llama, Mixtral, Qwen3-MoE), written with
 * the test fixtures' own safetensors builder, plus the expected MLX tensor list derived from the
 * rules in ../shared/notes/mlx-format.md by this file (not by src/core/mlx).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildSafetensors, type FixtureSafetensor } from '../../fixtures/safetensors-builder';
import { randomBf16 } from './affine-helpers';

export interface HfTensor {
  name: string;
  shape: number[];
  dtype: 'BF16' | 'F32' | 'F16';
}

export interface FixtureModel {
  dir: string;
  config: Record<string, unknown>;
  tensors: HfTensor[];
  /** Raw little-endian bytes by tensor name. */
  data: Map<string, Uint8Array>;
}

export interface FixtureShape {
  modelType: 'llama' | 'mixtral' | 'qwen3_moe' | 'mistral';
  hidden: number;
  ffn: number;
  layers: number;
  vocab: number;
  experts?: number;
  tied?: boolean;
  dtype?: 'BF16' | 'F32';
  torchDtype?: string;
  /** Adds a rotary inv_freq buffer, which mlx_lm drops. */
  invFreq?: boolean;
}

export function fixtureTensors(s: FixtureShape): HfTensor[] {
  const dtype = s.dtype ?? 'BF16';
  const t = (name: string, ...shape: number[]): HfTensor => ({ name, shape, dtype });
  const kv = s.hidden / 2;
  const out: HfTensor[] = [t('model.embed_tokens.weight', s.vocab, s.hidden), t('model.norm.weight', s.hidden)];
  if (!s.tied) out.push(t('lm_head.weight', s.vocab, s.hidden));
  for (let i = 0; i < s.layers; i++) {
    const p = `model.layers.${i}`;
    out.push(
      t(`${p}.input_layernorm.weight`, s.hidden),
      t(`${p}.post_attention_layernorm.weight`, s.hidden),
      t(`${p}.self_attn.q_proj.weight`, s.hidden, s.hidden),
      t(`${p}.self_attn.k_proj.weight`, kv, s.hidden),
      t(`${p}.self_attn.v_proj.weight`, kv, s.hidden),
      t(`${p}.self_attn.o_proj.weight`, s.hidden, s.hidden),
    );
    if (s.invFreq) out.push({ name: `${p}.self_attn.rotary_emb.inv_freq`, shape: [16], dtype: 'F32' });
    if (s.modelType === 'mixtral') {
      out.push(t(`${p}.block_sparse_moe.gate.weight`, s.experts!, s.hidden));
      for (let e = 0; e < s.experts!; e++) {
        out.push(
          t(`${p}.block_sparse_moe.experts.${e}.w1.weight`, s.ffn, s.hidden),
          t(`${p}.block_sparse_moe.experts.${e}.w2.weight`, s.hidden, s.ffn),
          t(`${p}.block_sparse_moe.experts.${e}.w3.weight`, s.ffn, s.hidden),
        );
      }
    } else if (s.modelType === 'qwen3_moe') {
      out.push(
        t(`${p}.mlp.gate.weight`, s.experts!, s.hidden),
        t(`${p}.self_attn.q_norm.weight`, 32),
        t(`${p}.self_attn.k_norm.weight`, 32),
      );
      for (let e = 0; e < s.experts!; e++) {
        out.push(
          t(`${p}.mlp.experts.${e}.gate_proj.weight`, s.ffn, s.hidden),
          t(`${p}.mlp.experts.${e}.up_proj.weight`, s.ffn, s.hidden),
          t(`${p}.mlp.experts.${e}.down_proj.weight`, s.hidden, s.ffn),
        );
      }
    } else {
      out.push(
        t(`${p}.mlp.gate_proj.weight`, s.ffn, s.hidden),
        t(`${p}.mlp.up_proj.weight`, s.ffn, s.hidden),
        t(`${p}.mlp.down_proj.weight`, s.hidden, s.ffn),
      );
    }
  }
  return out;
}

const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Writes config.json, tokenizer files, an unrelated file and model.safetensors into `dir`. */
export function writeFixtureModel(dir: string, s: FixtureShape, seed = 1): FixtureModel {
  mkdirSync(dir, { recursive: true });
  const tensors = fixtureTensors(s);
  const data = new Map<string, Uint8Array>();
  const fixture: FixtureSafetensor[] = tensors.map((t, i) => {
    const bf16 = randomBf16(numel(t.shape), seed * 1000 + i, t.name.includes('norm') ? 0.5 : 0.06);
    let bytes: Uint8Array;
    if (t.dtype === 'BF16') bytes = new Uint8Array(bf16.buffer);
    else {
      const f32 = new Float32Array(bf16.length);
      // Widen to float32 and perturb the low bits, so a cast back to bf16 really rounds.
      new Uint32Array(f32.buffer).set(Array.from(bf16, (b, k) => ((b << 16) | ((k * 2654435761) & 0xffff)) >>> 0));
      bytes = new Uint8Array(f32.buffer);
    }
    data.set(t.name, bytes);
    return { name: t.name, dtype: t.dtype, shape: t.shape, data: bytes };
  });
  writeFileSync(path.join(dir, 'model.safetensors'), buildSafetensors(fixture, { format: 'pt' }));
  const config: Record<string, unknown> = {
    architectures: [
      s.modelType === 'mixtral' ? 'MixtralForCausalLM' : s.modelType === 'qwen3_moe' ? 'Qwen3MoeForCausalLM' : 'LlamaForCausalLM',
    ],
    model_type: s.modelType,
    hidden_size: s.hidden,
    intermediate_size: s.ffn,
    num_hidden_layers: s.layers,
    num_attention_heads: 2,
    num_key_value_heads: 1,
    vocab_size: s.vocab,
    rms_norm_eps: 1e-5,
    rope_theta: 10000.0,
    tie_word_embeddings: Boolean(s.tied),
    torch_dtype: s.torchDtype ?? 'bfloat16',
    _name_or_path: '/somewhere/else',
  };
  if (s.experts)
    Object.assign(config, { num_local_experts: s.experts, num_experts: s.experts, num_experts_per_tok: 2, moe_intermediate_size: s.ffn });
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  writeFileSync(path.join(dir, 'tokenizer.json'), '{"model": {"type": "BPE"}}');
  writeFileSync(path.join(dir, 'tokenizer_config.json'), '{"chat_template": "{{ messages }}"}');
  writeFileSync(path.join(dir, 'generation_config.json'), '{"bos_token_id": 1}');
  writeFileSync(path.join(dir, 'chat_template.jinja'), '{{ messages }}');
  writeFileSync(path.join(dir, 'README.md'), 'not copied');
  return { dir, config, tensors, data };
}

export interface ExpectedTensor {
  name: string;
  shape: number[];
  dtype: string;
}

export interface ExpectedWeight {
  /** MLX module path. */
  module: string;
  /** HF sources, expert order. */
  sources: string[];
  /** Unpacked MLX shape. */
  shape: number[];
  bits: number | null;
  groupSize: number;
}

/**
 * The MLX tensors the note's rules give for these HF tensors, with `width(module)` choosing bits
 * (null = unquantized). Rules: experts `<p>.experts.E.<proj>` stack into `<p>.switch_mlp.<proj'>`
 * (Mixtral w1/w2/w3 = gate/down/up); rotary inv_freq is dropped; a quantized weight [..., in]
 * becomes U32 [..., in*b/32] plus scales and biases [..., in/g] in the model dtype; 1-D tensors,
 * and weights whose last dim is not a multiple of the group, stay unquantized in the model dtype.
 */
export function expectedMlx(
  tensors: readonly HfTensor[],
  dtype: string,
  width: (module: string) => { bits: number; groupSize: number } | null,
): { tensors: ExpectedTensor[]; weights: ExpectedWeight[] } {
  const renames: Record<string, string> = { w1: 'gate_proj', w2: 'down_proj', w3: 'up_proj' };
  const stacked = new Map<string, { sources: string[]; shape: number[] }>();
  const plain: HfTensor[] = [];
  for (const t of tensors) {
    if (t.name.endsWith('rotary_emb.inv_freq')) continue;
    const parts = t.name.split('.');
    const at = parts.indexOf('experts');
    if (at < 0) {
      plain.push(t);
      continue;
    }
    const proj = parts[at + 2]!;
    const name = [...parts.slice(0, at), 'switch_mlp', renames[proj] ?? proj, ...parts.slice(at + 3)].join('.');
    const entry = stacked.get(name) ?? { sources: [], shape: t.shape };
    entry.sources[Number(parts[at + 1])] = t.name;
    stacked.set(name, entry);
  }
  const all = [
    ...plain.map((t) => ({ name: t.name, sources: [t.name], shape: t.shape })),
    ...[...stacked].map(([name, e]) => ({ name, sources: e.sources, shape: [e.sources.length, ...e.shape] })),
  ];
  const out: ExpectedTensor[] = [];
  const weights: ExpectedWeight[] = [];
  for (const t of all) {
    const module = t.name.replace(/\.weight$/, '');
    const w = t.name.endsWith('.weight') && t.shape.length >= 2 ? width(module) : null;
    const last = t.shape[t.shape.length - 1]!;
    if (w && last % w.groupSize === 0) {
      const lead = t.shape.slice(0, -1);
      out.push({ name: t.name, shape: [...lead, (last * w.bits) / 32], dtype: 'U32' });
      out.push({ name: `${module}.scales`, shape: [...lead, last / w.groupSize], dtype });
      out.push({ name: `${module}.biases`, shape: [...lead, last / w.groupSize], dtype });
      weights.push({ module, sources: t.sources, shape: t.shape, bits: w.bits, groupSize: w.groupSize });
    } else {
      out.push({ name: t.name, shape: t.shape, dtype });
      if (t.name.endsWith('.weight') && t.shape.length >= 2)
        weights.push({ module, sources: t.sources, shape: t.shape, bits: null, groupSize: 0 });
    }
  }
  out.sort((a, b) => (a.name < b.name ? -1 : 1));
  return { tensors: out, weights };
}
