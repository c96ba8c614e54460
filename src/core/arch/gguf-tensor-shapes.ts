/**
 * A GGUF's tensors against its own hyperparameters: the metadata that says 3 heads of 64 must not
 * sit on a 128-wide attn_q, an expert count needs expert tensors, and no block lies past
 * block_count. The rules for every architecture are the ones that hold for all of them; the shapes
 * of attention and FFN tensors are checked for the architectures whose layout is known here (the
 * ones this project converts and their close relatives), as llama.cpp's loader expects them.
 */
import { GgufValueType } from '../formats/gguf-constants';
import type { GgufFile, GgufTensorInfo } from '../formats/gguf-types';
import type { GgufHyperparameters } from './gguf-hyperparameters';
import { type HyperparameterChecker, atLayer } from './hyperparameters';
import { layerOf } from './model-tensor';

/** Architectures with the standard attention and FFN tensor shapes. */
export const STANDARD_SHAPE_ARCHS: ReadonlySet<string> = new Set([
  'llama',
  'qwen2',
  'qwen3',
  'qwen2moe',
  'qwen3moe',
  'gemma',
  'gemma2',
  'gemma3',
  'phi3',
  'gpt-oss',
]);

const EXPERT_TENSOR = /_exps\.weight$/;

type Expected = readonly (number | undefined)[];

interface LayerDims {
  embd: number | undefined;
  /** Query width (heads x key size), key width, value width, attention output width. */
  q: number | undefined;
  k: number | undefined;
  v: number | undefined;
  out: number | undefined;
  headSize: number | undefined;
  ff: number | undefined;
  ffExp: number | undefined;
  ffShared: number | undefined;
  experts: number | undefined;
}

/** GGUF order (ne[0] first) of each tensor base's weight. */
const WEIGHT_SHAPES: Record<string, (d: LayerDims, arch: string) => Expected> = {
  attn_norm: (d) => [d.embd],
  ffn_norm: (d) => [d.embd],
  post_attention_norm: (d) => [d.embd],
  post_ffw_norm: (d) => [d.embd],
  attn_q_norm: (d) => [d.headSize],
  attn_k_norm: (d) => [d.headSize],
  attn_q: (d) => [d.embd, d.q],
  attn_k: (d) => [d.embd, d.k],
  attn_v: (d) => [d.embd, d.v],
  attn_output: (d) => [d.out, d.embd],
  attn_qkv: (d) => [d.embd, d.q !== undefined && d.k !== undefined && d.v !== undefined ? d.q + d.k + d.v : undefined],
  ffn_gate: (d) => [d.embd, d.ff],
  ffn_up: (d, arch) => [d.embd, arch === 'phi3' && d.ff !== undefined ? 2 * d.ff : d.ff],
  ffn_down: (d) => [d.ff, d.embd],
  ffn_gate_inp: (d) => [d.embd, d.experts],
  ffn_gate_exps: (d) => [d.embd, d.ffExp, d.experts],
  ffn_up_exps: (d) => [d.embd, d.ffExp, d.experts],
  ffn_down_exps: (d) => [d.ffExp, d.embd, d.experts],
  ffn_gate_shexp: (d) => [d.embd, d.ffShared],
  ffn_up_shexp: (d) => [d.embd, d.ffShared],
  ffn_down_shexp: (d) => [d.ffShared, d.embd],
};

const BIAS_SHAPES: Record<string, (d: LayerDims) => Expected> = {
  attn_q: (d) => [d.q],
  attn_k: (d) => [d.k],
  attn_v: (d) => [d.v],
};

export function checkGgufTensorShapes(file: GgufFile, h: GgufHyperparameters, c: HyperparameterChecker): void {
  const key = (k: string) => `${h.arch}.${k}`;
  for (const t of file.tensors) {
    const layer = layerOf(t.name);
    if (layer !== null && layer >= h.blockCount) {
      c.fail(
        `tensor belongs to layer ${layer}, but ${c.source.label(key('block_count'))} is ${h.blockCount}; the metadata and ` +
          `the tensors disagree`,
        { tensor: t.name },
      );
    }
  }
  const expertTensors = file.tensors.filter((t) => EXPERT_TENSOR.test(t.name));
  if (h.experts > 1 && expertTensors.length === 0) {
    c.fail(
      `${c.source.label(key('expert_count'))} is ${h.experts}, but the file has no expert tensors (ffn_*_exps); the metadata ` +
        `and the tensors disagree`,
    );
  }
  if (h.experts === 0 && expertTensors.length > 0) {
    c.fail(`the file has expert tensors (${expertTensors[0]!.name}) but no ${key('expert_count')}`, { tensor: expertTensors[0]!.name });
  }
  checkVocabulary(file, h, c);
  if (STANDARD_SHAPE_ARCHS.has(h.arch)) for (const t of file.tensors) checkStandardShape(t, h, c);
}

/** token_embd and output have one row per vocabulary entry, each as wide as the model. */
function checkVocabulary(file: GgufFile, h: GgufHyperparameters, c: HyperparameterChecker): void {
  const tokens = file.metadata.get('tokenizer.ggml.tokens');
  const vocab = tokens?.type === GgufValueType.ARRAY ? tokens.value.length : undefined;
  for (const name of ['token_embd.weight', 'output.weight']) {
    const t = file.tensors.find((x) => x.name === name);
    if (!t) continue;
    const expected: Expected = [h.embedding, vocab];
    if (!matches(t.shape, expected)) {
      c.fail(
        `shape [${t.shape.join(', ')}] does not match ${h.arch}.embedding_length ${h.embedding ?? '?'} and ${vocab ?? '?'} ` +
          `tokens (tokenizer.ggml.tokens) = [${show(expected)}]`,
        { tensor: t.name },
      );
    }
  }
}

function checkStandardShape(t: GgufTensorInfo, h: GgufHyperparameters, c: HyperparameterChecker): void {
  const m = /^(?:blk\.(\d+)\.)?([a-z_]+)\.(weight|bias)$/.exec(t.name);
  if (!m) return;
  const [base, part] = [m[2]!, m[3]!];
  if (m[1] === undefined) {
    if (base === 'output_norm' && part === 'weight') checkOne(t, [h.embedding], h, c);
    return;
  }
  const rule = part === 'weight' ? WEIGHT_SHAPES[base] : BIAS_SHAPES[base];
  if (!rule) return;
  const dims = layerDims(h, Number(m[1]));
  // llama.cpp sizes these tensors from the metadata: a missing width becomes 0, which it asserts on.
  const needs = SIZED_BY[base];
  if (needs && dims[needs.dim] === undefined) {
    c.fail(`the metadata has no ${h.arch}.${needs.key}, which llama.cpp needs to load this tensor`, { tensor: t.name });
  }
  checkOne(t, rule(dims, h.arch), h, c);
}

/** The metadata key llama.cpp takes a tensor's width from, for the tensors it cannot load without it. */
const SIZED_BY: Record<string, { dim: keyof LayerDims; key: string }> = {
  attn_q: { dim: 'q', key: 'attention.head_count' },
  attn_output: { dim: 'out', key: 'attention.head_count' },
  ffn_gate: { dim: 'ff', key: 'feed_forward_length' },
  ffn_up: { dim: 'ff', key: 'feed_forward_length' },
  ffn_down: { dim: 'ff', key: 'feed_forward_length' },
  ffn_gate_exps: { dim: 'ffExp', key: 'expert_feed_forward_length' },
  ffn_up_exps: { dim: 'ffExp', key: 'expert_feed_forward_length' },
  ffn_down_exps: { dim: 'ffExp', key: 'expert_feed_forward_length' },
};

function checkOne(t: GgufTensorInfo, expected: Expected, h: GgufHyperparameters, c: HyperparameterChecker): void {
  if (matches(t.shape, expected)) return;
  const d = layerDims(h, layerOf(t.name) ?? 0);
  c.fail(
    `shape [${t.shape.join(', ')}] does not match the metadata, which implies [${show(expected)}] ` +
      `(embedding ${d.embd ?? '?'}, head size ${d.headSize ?? '?'}, query width ${d.q ?? '?'}, key/value width ${d.k ?? '?'}, ` +
      `FFN ${d.ff ?? '?'}, experts ${d.experts ?? 0}); the metadata and the tensors disagree`,
    { tensor: t.name },
  );
}

function layerDims(h: GgufHyperparameters, layer: number): LayerDims {
  const heads = atLayer(h.heads, layer);
  const kvHeads = atLayer(h.kvHeads, layer) ?? heads;
  const perHead = h.embedding !== undefined && heads ? h.embedding / heads : undefined;
  const kSize = h.keyLength ?? perHead;
  const vSize = h.valueLength ?? perHead;
  const times = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? undefined : a * b);
  const ff = atLayer(h.ffn, layer);
  return {
    embd: h.embedding,
    q: times(heads, kSize),
    k: times(kvHeads, kSize),
    v: times(kvHeads, vSize),
    out: times(heads, vSize),
    headSize: kSize,
    ff,
    ffExp: h.expertFfn ?? ff,
    ffShared: h.sharedExpertFfn,
    experts: h.experts > 0 ? h.experts : undefined,
  };
}

function matches(shape: readonly number[], expected: Expected): boolean {
  return shape.length === expected.length && expected.every((n, i) => n === undefined || n === shape[i]);
}

function show(expected: Expected): string {
  return expected.map((n) => n ?? '*').join(', ');
}
