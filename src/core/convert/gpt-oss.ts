/**
 * gpt-oss specifics (facts from llama.cpp's converter conversion/gpt_oss.py and loader
 * src/models/openai-moe.cpp, and transformers' modeling_gpt_oss.py):
 * - the experts of one layer are stored stacked under `mlp.experts.`: either MXFP4 blocks and scales
 *   (`gate_up_proj_blocks` [E, 2*ff, H/32, 16], `down_proj_blocks` [E, H, ff/32, 16], the released
 *   checkpoints) or dequantized matrices laid out [E, in, out] (`gate_up_proj` [E, H, 2*ff],
 *   `down_proj` [E, ff, H]); gate_up's units are interleaved (even: gate, odd: up), its bias too;
 * - MXFP4 experts stay MXFP4 in the GGUF (repacked, never dequantized), as llama.cpp's converter does;
 * - llama.cpp derives the sliding-window layers from a period (default 2: even layers slide) and
 *   hard-codes the clamped SwiGLU's limit (7) and alpha (1.702).
 */
import { FormatError, UnsupportedError } from '../errors';
import type { SafetensorsTensor } from '../formats/safetensors';
import type { PackedExperts } from './arch-specs';
import type { Hparams } from './hparams';
import { type KvBuilder } from './kv';
import { makeRecipe, type OutType, type SourceSegment, type TensorRecipe } from './recipe';

/** Values per MXFP4 block and bytes of packed codes per block. */
export const MXFP4_BLOCK = 32;
const MXFP4_CODE_BYTES = MXFP4_BLOCK / 2;
/** llama.cpp's LLM_FFN_SWIGLU_OAI_MOE limit (it does not read swiglu_limit). */
const LLAMA_CPP_SWIGLU_LIMIT = 7;
/** llama.cpp's default sliding-window period for gpt-oss (layer i slides when i % 2 === 0). */
const DEFAULT_SWA_PERIOD = 2;

const EXPERT_PARTS = [
  'gate_up_proj_blocks',
  'gate_up_proj_scales',
  'gate_up_proj_bias',
  'down_proj_blocks',
  'down_proj_scales',
  'down_proj_bias',
  'gate_up_proj',
  'down_proj',
] as const;
const PREFIX = 'mlp.experts.';

interface Dims {
  experts: number;
  hidden: number;
  ff: number;
}

function dimsOf(h: Hparams): Dims {
  return { experts: h.int(['num_local_experts', 'num_experts']), hidden: h.hiddenSize, ff: h.int('intermediate_size') };
}

function name(layer: number, base: string, suffix: 'weight' | 'bias'): string {
  return `blk.${layer}.${base}.${suffix}`;
}

function expectShape(h: Hparams, t: SafetensorsTensor, want: number[], what: string): void {
  if (t.shape.join() === want.join()) return;
  throw new FormatError(
    `config.json and the weights disagree: ${t.name} has shape [${t.shape.join(', ')}], but ${what} implies [${want.join(', ')}] ` +
      `(hidden_size ${h.hiddenSize}, intermediate_size ${h.num('intermediate_size')}, ` +
      `${h.num(['num_local_experts', 'num_experts'])} experts)`,
    { path: h.source, tensor: t.name },
  );
}

function need(parts: ReadonlyMap<string, SafetensorsTensor>, part: string, layer: number, h: Hparams): SafetensorsTensor {
  const t = parts.get(PREFIX + part);
  if (!t) {
    const have = [...parts.keys()].map((k) => k.slice(PREFIX.length)).join(', ');
    throw new FormatError(`layer ${layer}: the experts have ${have} but no ${part}; a shard may be missing`, { path: h.source });
  }
  return t;
}

/** The gate/up/down biases: gate and up are the even and odd entries of gate_up_proj_bias. */
function biasRecipes(h: Hparams, d: Dims, layer: number, parts: ReadonlyMap<string, SafetensorsTensor>, out: OutType): TensorRecipe[] {
  const gateUp = need(parts, 'gate_up_proj_bias', layer, h);
  const down = need(parts, 'down_proj_bias', layer, h);
  expectShape(h, gateUp, [d.experts, 2 * d.ff], 'experts x 2*intermediate_size');
  expectShape(h, down, [d.experts, d.hidden], 'experts x hidden_size');
  const rows = (t: SafetensorsTensor, rowLength: number): SourceSegment[] => [{ tensor: t, firstRow: 0, rows: d.experts, rowLength }];
  const half = (start: number) => ({ pick: { start, step: 2, count: d.ff } });
  return [
    makeRecipe(name(layer, 'ffn_gate_exps', 'bias'), [d.ff, d.experts], out, gateUp.name, gateUp.dtype, rows(gateUp, 2 * d.ff), half(0)),
    makeRecipe(name(layer, 'ffn_up_exps', 'bias'), [d.ff, d.experts], out, gateUp.name, gateUp.dtype, rows(gateUp, 2 * d.ff), half(1)),
    makeRecipe(name(layer, 'ffn_down_exps', 'bias'), [d.hidden, d.experts], out, down.name, down.dtype, rows(down, d.hidden)),
  ];
}

function mxfp4Recipes(h: Hparams, d: Dims, layer: number, parts: ReadonlyMap<string, SafetensorsTensor>): TensorRecipe[] {
  for (const [width, what] of [
    [d.hidden, 'hidden_size'],
    [d.ff, 'intermediate_size'],
  ] as const) {
    if (width % MXFP4_BLOCK !== 0) {
      throw new FormatError(`${what} ${width} is not a multiple of ${MXFP4_BLOCK}, so it cannot hold MXFP4 blocks`, { path: h.source });
    }
  }
  const pair = (stem: string, rows: number, cols: number) => {
    const blocks = need(parts, `${stem}_blocks`, layer, h);
    const scales = need(parts, `${stem}_scales`, layer, h);
    for (const t of [blocks, scales]) {
      if (t.dtype !== 'U8') throw new FormatError(`${t.name} is ${t.dtype}; MXFP4 blocks and scales are U8`, { tensor: t.name });
    }
    expectShape(h, blocks, [d.experts, rows, cols / MXFP4_BLOCK, MXFP4_CODE_BYTES], `MXFP4 blocks of ${rows} x ${cols} experts`);
    expectShape(h, scales, [d.experts, rows, cols / MXFP4_BLOCK], `MXFP4 scales of ${rows} x ${cols} experts`);
    return { blocks, scales };
  };
  const gateUp = pair('gate_up_proj', 2 * d.ff, d.hidden);
  const down = pair('down_proj', d.hidden, d.ff);
  const recipe = (base: string, shape: number[], src: typeof gateUp, firstRow: number, rowStep: number, rows: number): TensorRecipe => ({
    name: name(layer, base, 'weight'),
    shape,
    type: 'MXFP4',
    hfName: [src.blocks.name, src.scales.name],
    sourceDtype: 'MXFP4',
    segments: [],
    transform: {},
    mxfp4: { ...src, firstRow, rowStep, rows },
  });
  return [
    recipe('ffn_gate_exps', [d.hidden, d.ff, d.experts], gateUp, 0, 2, d.ff),
    recipe('ffn_up_exps', [d.hidden, d.ff, d.experts], gateUp, 1, 2, d.ff),
    recipe('ffn_down_exps', [d.ff, d.hidden, d.experts], down, 0, 1, d.hidden),
  ];
}

/** Dequantized experts, [E, in, out]: each expert's matrix is transposed; gate_up's columns are split. */
function denseRecipes(h: Hparams, d: Dims, layer: number, parts: ReadonlyMap<string, SafetensorsTensor>, out: OutType): TensorRecipe[] {
  const gateUp = need(parts, 'gate_up_proj', layer, h);
  const down = need(parts, 'down_proj', layer, h);
  expectShape(h, gateUp, [d.experts, d.hidden, 2 * d.ff], 'experts x hidden_size x 2*intermediate_size');
  expectShape(h, down, [d.experts, d.ff, d.hidden], 'experts x intermediate_size x hidden_size');
  const perExpert = (t: SafetensorsTensor, rows: number, rowLength: number): SourceSegment[] =>
    [...Array(d.experts).keys()].map((e) => ({ tensor: t, firstRow: e * rows, rows, rowLength }));
  const half = (start: number) => ({ pick: { start, step: 2, count: d.ff }, transpose: true });
  const gateUpSegments = perExpert(gateUp, d.hidden, 2 * d.ff);
  return [
    makeRecipe(
      name(layer, 'ffn_gate_exps', 'weight'),
      [d.hidden, d.ff, d.experts],
      out,
      gateUp.name,
      gateUp.dtype,
      gateUpSegments,
      half(0),
    ),
    makeRecipe(name(layer, 'ffn_up_exps', 'weight'), [d.hidden, d.ff, d.experts], out, gateUp.name, gateUp.dtype, gateUpSegments, half(1)),
    makeRecipe(
      name(layer, 'ffn_down_exps', 'weight'),
      [d.ff, d.hidden, d.experts],
      out,
      down.name,
      down.dtype,
      perExpert(down, d.ff, d.hidden),
      {
        transpose: true,
      },
    ),
  ];
}

export const GPT_OSS_EXPERTS: PackedExperts = {
  claims: (rest) => rest.startsWith(PREFIX) && (EXPERT_PARTS as readonly string[]).includes(rest.slice(PREFIX.length)),
  recipes(h, layer, parts, out) {
    const d = dimsOf(h);
    const packed = parts.has(`${PREFIX}gate_up_proj_blocks`) || parts.has(`${PREFIX}down_proj_blocks`);
    const dense = parts.has(`${PREFIX}gate_up_proj`) || parts.has(`${PREFIX}down_proj`);
    if (packed && dense) {
      throw new FormatError(`layer ${layer}: the experts are stored both as MXFP4 blocks and as plain matrices; which one is the model?`, {
        path: h.source,
      });
    }
    const weights = packed ? mxfp4Recipes(h, d, layer, parts) : denseRecipes(h, d, layer, parts, out);
    return [...weights, ...biasRecipes(h, d, layer, parts, out)];
  },
};

/**
 * The period of the sliding/full layer pattern, as llama.cpp reads it (layer i slides when
 * i % period < period - 1): from layer_types, or transformers' default (period 2).
 */
export function gptOssSwaPeriod(h: Hparams): number {
  const types = h.raw.layer_types;
  if (!Array.isArray(types)) return DEFAULT_SWA_PERIOD;
  if (types.length !== h.numLayers) {
    throw new FormatError(`layer_types lists ${types.length} layers but num_hidden_layers is ${h.numLayers}`, { path: h.source });
  }
  const firstFull = types.indexOf('full_attention');
  const period = firstFull < 0 ? 0 : firstFull + 1;
  const regular = types.every((t, i) => (t === 'sliding_attention') === (period === 0 || i % period < period - 1));
  if (!regular || types.some((t) => t !== 'sliding_attention' && t !== 'full_attention')) {
    throw new UnsupportedError(
      `gpt-oss layer_types ${JSON.stringify(types)} do not repeat as (sliding x N, full), ` +
        `which is the only layout llama.cpp's gpt-oss runs`,
    );
  }
  if (period === 1) {
    throw new UnsupportedError(
      "gpt-oss layer_types has no sliding_attention layer; llama.cpp's gpt-oss always builds a sliding-window cache and aborts without one",
    );
  }
  return period;
}

export function checkGptOssConfig(h: Hparams): void {
  gptOssSwaPeriod(h);
  const window = h.num('sliding_window');
  if (window === undefined || !Number.isInteger(window) || window <= 0) {
    throw new FormatError('gpt-oss config.json needs a positive sliding_window (llama.cpp requires it)', { path: h.source });
  }
}

/** The hyperparameters llama.cpp's gpt-oss loader reads beyond the common ones. */
export function writeGptOssMetadata(kv: KvBuilder, h: Hparams): void {
  kv.u32(kv.key('attention.sliding_window'), h.int('sliding_window'));
  kv.u32(kv.key('expert_feed_forward_length'), h.int('intermediate_size'));
  const period = gptOssSwaPeriod(h);
  if (period !== DEFAULT_SWA_PERIOD) kv.u32(kv.key('attention.sliding_window_pattern'), period);
}

/** Config values llama.cpp's gpt-oss graph does not honour (the GGUF still loads). */
export function gptOssWarnings(h: Hparams): string[] {
  const out: string[] = [];
  const limit = h.num('swiglu_limit');
  if (limit !== undefined && limit !== LLAMA_CPP_SWIGLU_LIMIT) {
    out.push(
      `swiglu_limit is ${limit}, but llama.cpp's gpt-oss clamps the SwiGLU at ${LLAMA_CPP_SWIGLU_LIMIT}; ` +
        `outputs will differ from transformers`,
    );
  }
  const rope = h.rope;
  if (rope.type?.toLowerCase() === 'yarn' && rope.params.truncate === false) {
    out.push(
      "rope_scaling.truncate is false, but llama.cpp's YaRN rounds the correction range to whole dimensions; " +
        'rotary frequencies in that range differ slightly from transformers',
    );
  }
  return out;
}
