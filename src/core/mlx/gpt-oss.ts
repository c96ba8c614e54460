/**
 * gpt-oss experts in MLX's "mxfp4" quantization mode, copied from the MXFP4 checkpoint without
 * re-rounding. Layout facts, from ml-explore/mlx and ml-explore/mlx-lm sources (see
 * docs/mlx-mxfp4.md for the citations and the test vectors):
 * - a quantized weight is U32 [..., in/8]: 8 E2M1 codes per word, code i of the word in bits
 *   4i..4i+3, so byte k of a row holds values 2k (low nibble) and 2k+1 (high nibble), exactly the
 *   byte layout of the checkpoint's `*_blocks` (mlx_lm's gpt_oss sanitize reinterprets those bytes
 *   as uint32 without moving them);
 * - scales are U8 [..., in/32], E8M0 (value = code * 2^(scale - 127)); there are no biases;
 * - mlx_lm's gpt_oss model takes `mlp.experts.{gate,up,down}_proj.{weight,scales,bias}`
 *   ([experts, out, in]); gate and up are the even and odd rows of gate_up (bias too).
 * The dequantizer goes the other way, back to the checkpoint's MXFP4 tensors, so MLX artifacts are
 * evaluated with the same MXFP4 experts llama.cpp computes with.
 */
import { FormatError, UnsupportedError } from '../errors';
import { readTensorBytes, type SafetensorsModel, type SafetensorsTensor } from '../formats/safetensors';
import type { MlxQuant } from '../plan/types';
import type { MlxFloatDtype } from './affine';
import type { OutputTensor, ShardWriter } from './shards';
import { convertFloats } from './tensor-io';

/** MLX's mxfp4 mode: 4-bit E2M1 codes in groups of 32 with one E8M0 scale byte. */
export const MLX_MXFP4: MlxQuant = { bits: 4, groupSize: 32, mode: 'mxfp4' };
const CODE_BYTES = 16;

const EXPERTS = /^(model\.layers\.\d+\.mlp\.experts)\.(gate_up_proj|down_proj)(_blocks|_scales|_bias|)$/;

interface Projection {
  /** MLX module path, e.g. model.layers.0.mlp.experts.gate_proj */
  module: string;
  blocks: SafetensorsTensor;
  scales: SafetensorsTensor;
  bias: SafetensorsTensor;
  /** Rows of each expert taken: first, step; and the row count. */
  firstRow: number;
  rowStep: number;
  rows: number;
}

export interface GptOssMlxExperts {
  /** Checkpoint tensors these outputs replace. */
  claimed: Set<string>;
  outputs: OutputTensor[];
  /** The mxfp4 weights: module path and unpacked shape [experts, out, in]. */
  weights: { modulePath: string; shape: number[] }[];
  write(writer: ShardWriter, progress: (bytes: number) => void): Promise<void>;
}

/**
 * The MLX tensors of a gpt-oss checkpoint's experts, or null when the model has none under
 * gpt-oss names. Only the MXFP4 release layout is supported here: dequantized experts would need
 * requantizing, which this writer does not do.
 */
export function gptOssMlxExperts(model: SafetensorsModel, where: string, dtype: MlxFloatDtype): GptOssMlxExperts | null {
  const byStem = new Map<string, Map<string, SafetensorsTensor>>();
  for (const t of model.tensors.values()) {
    const m = EXPERTS.exec(t.name);
    if (!m) continue;
    const stem = `${m[1]}.${m[2]}`;
    const parts = byStem.get(stem) ?? new Map<string, SafetensorsTensor>();
    parts.set(m[3]!, t);
    byStem.set(stem, parts);
  }
  if (byStem.size === 0) return null;
  const projections: Projection[] = [];
  for (const [stem, parts] of byStem) {
    const [blocks, scales, bias] = ['_blocks', '_scales', '_bias'].map((s) => parts.get(s));
    if (parts.has('')) {
      throw new UnsupportedError(
        `${where}: ${stem} holds dequantized experts; MLX output of gpt-oss is written from the MXFP4 release ` +
          `(experts copied in MLX's mxfp4 mode). Use GGUF output for this checkpoint.`,
      );
    }
    if (!blocks || !scales || !bias)
      throw new FormatError(`${stem}: needs _blocks, _scales and _bias tensors`, { path: where, tensor: stem });
    const [experts, rows, groups] = scales.shape as [number, number, number];
    if (blocks.shape.join() !== [experts, rows, groups, CODE_BYTES].join() || blocks.dtype !== 'U8' || scales.dtype !== 'U8')
      throw new FormatError(
        `${stem}: blocks ${blocks.dtype} [${blocks.shape.join(', ')}] do not match scales ${scales.dtype} [${scales.shape.join(', ')}]`,
        {
          path: where,
          tensor: blocks.name,
        },
      );
    const base = stem.slice(0, stem.lastIndexOf('.'));
    if (stem.endsWith('gate_up_proj')) {
      projections.push({ module: `${base}.gate_proj`, blocks, scales, bias, firstRow: 0, rowStep: 2, rows: rows / 2 });
      projections.push({ module: `${base}.up_proj`, blocks, scales, bias, firstRow: 1, rowStep: 2, rows: rows / 2 });
    } else projections.push({ module: `${base}.down_proj`, blocks, scales, bias, firstRow: 0, rowStep: 1, rows });
  }
  return {
    claimed: new Set([...byStem.values()].flatMap((parts) => [...parts.values()].map((t) => t.name))),
    outputs: projections.flatMap((p) => outputsOf(p, dtype)),
    weights: projections.map((p) => ({ modulePath: p.module, shape: [p.scales.shape[0]!, p.rows, p.scales.shape[2]! * 32] })),
    async write(writer, progress) {
      for (const p of projections) await writeProjection(writer, p, dtype, progress);
    },
  };
}

function outputsOf(p: Projection, dtype: MlxFloatDtype): OutputTensor[] {
  const [experts, , groups] = p.scales.shape as [number, number, number];
  return [
    { name: `${p.module}.weight`, dtype: 'U32', shape: [experts, p.rows, (groups * CODE_BYTES) / 4] },
    { name: `${p.module}.scales`, dtype: 'U8', shape: [experts, p.rows, groups] },
    { name: `${p.module}.bias`, dtype, shape: [experts, p.rows] },
  ];
}

/** Copies every expert's selected rows of codes and scales, and the selected bias entries. */
async function writeProjection(writer: ShardWriter, p: Projection, dtype: MlxFloatDtype, progress: (bytes: number) => void): Promise<void> {
  const [experts, sourceRows, groups] = p.scales.shape as [number, number, number];
  const rowBytes = groups * CODE_BYTES;
  for (let e = 0; e < experts; e++) {
    const first = e * sourceRows;
    const codes = await readTensorBytes(p.blocks, { start: first * rowBytes, end: (first + sourceRows) * rowBytes });
    const scales = await readTensorBytes(p.scales, { start: first * groups, end: (first + sourceRows) * groups });
    const outCodes = new Uint8Array(p.rows * rowBytes);
    const outScales = new Uint8Array(p.rows * groups);
    for (let r = 0; r < p.rows; r++) {
      const from = p.firstRow + r * p.rowStep;
      outCodes.set(codes.subarray(from * rowBytes, (from + 1) * rowBytes), r * rowBytes);
      outScales.set(scales.subarray(from * groups, (from + 1) * groups), r * groups);
    }
    await writer.write(`${p.module}.weight`, e * outCodes.length, outCodes);
    await writer.write(`${p.module}.scales`, e * outScales.length, outScales);
    progress(codes.length + scales.length);
  }
  const bias = convertFloats(await readTensorBytes(p.bias), p.bias.dtype, dtype, p.bias.name);
  const picked = dtype === 'F32' ? new Float32Array(experts * p.rows) : new Uint16Array(experts * p.rows);
  for (let e = 0; e < experts; e++)
    for (let r = 0; r < p.rows; r++) picked[e * p.rows + r] = bias[e * sourceRows + p.firstRow + r * p.rowStep]!;
  await writer.write(`${p.module}.bias`, 0, picked);
}

/** Whether a config is a gpt-oss MXFP4 release (the only quantized source the MLX writer accepts). */
export function isGptOssMxfp4Release(config: Record<string, unknown>): boolean {
  const q = config.quantization_config;
  return (
    config.model_type === 'gpt_oss' && typeof q === 'object' && q !== null && (q as { quant_method?: unknown }).quant_method === 'mxfp4'
  );
}

/** The reverse, for the dequantizer: MLX mxfp4 experts -> the checkpoint's MXFP4 tensors. */
export interface GptOssCheckpointExperts {
  /** MLX tensors these outputs replace. */
  claimed: Set<string>;
  outputs: OutputTensor[];
  write(writer: ShardWriter): Promise<void>;
}

interface MlxLayerExperts {
  stem: string;
  get(module: 'gate_proj' | 'up_proj' | 'down_proj', part: 'weight' | 'scales' | 'bias'): SafetensorsTensor;
}

/**
 * gate/up/down mxfp4 experts of an MLX gpt-oss model as `gate_up_proj_{blocks,scales,bias}` (gate
 * and up rows interleaved again) and `down_proj_*`, the layout the GGUF converter reads; null when
 * the model has no mxfp4 experts. `isMxfp4` says whether a module is loaded in mxfp4 mode.
 */
export function gptOssCheckpointExperts(
  tensors: ReadonlyMap<string, SafetensorsTensor>,
  isMxfp4: (modulePath: string) => boolean,
  dtype: MlxFloatDtype,
  where: string,
): GptOssCheckpointExperts | null {
  const layers: MlxLayerExperts[] = [];
  for (const name of tensors.keys()) {
    const m = /^(model\.layers\.\d+\.mlp\.experts)\.gate_proj\.weight$/.exec(name);
    if (!m || !isMxfp4(`${m[1]}.gate_proj`)) continue;
    const stem = m[1]!;
    layers.push({
      stem,
      get(module, part) {
        const t = tensors.get(`${stem}.${module}.${part}`);
        if (!t) throw new FormatError(`MLX gpt-oss experts: ${stem}.${module}.${part} is missing`, { path: where });
        return t;
      },
    });
  }
  if (!layers.length) return null;
  const claimed = new Set<string>();
  const outputs: OutputTensor[] = [];
  for (const l of layers) {
    for (const module of ['gate_proj', 'up_proj', 'down_proj'] as const)
      for (const part of ['weight', 'scales', 'bias'] as const) claimed.add(l.get(module, part).name);
    const [E, ff, groupsH] = l.get('gate_proj', 'scales').shape as [number, number, number];
    const [, H, groupsFf] = l.get('down_proj', 'scales').shape as [number, number, number];
    outputs.push(
      { name: `${l.stem}.gate_up_proj_blocks`, dtype: 'U8', shape: [E, 2 * ff, groupsH, CODE_BYTES] },
      { name: `${l.stem}.gate_up_proj_scales`, dtype: 'U8', shape: [E, 2 * ff, groupsH] },
      { name: `${l.stem}.gate_up_proj_bias`, dtype, shape: [E, 2 * ff] },
      { name: `${l.stem}.down_proj_blocks`, dtype: 'U8', shape: [E, H, groupsFf, CODE_BYTES] },
      { name: `${l.stem}.down_proj_scales`, dtype: 'U8', shape: [E, H, groupsFf] },
      { name: `${l.stem}.down_proj_bias`, dtype, shape: [E, H] },
    );
  }
  return {
    claimed,
    outputs,
    async write(writer) {
      for (const l of layers) await writeCheckpointLayer(writer, l, dtype);
    },
  };
}

/** Interleaves rows: out row 2r (+ offset) <- a row r, out row 2r + 1 <- b row r, `width` bytes each. */
function interleave(a: Uint8Array, b: Uint8Array, width: number): Uint8Array {
  const rows = a.length / width;
  const out = new Uint8Array(2 * a.length);
  for (let r = 0; r < rows; r++) {
    out.set(a.subarray(r * width, (r + 1) * width), 2 * r * width);
    out.set(b.subarray(r * width, (r + 1) * width), (2 * r + 1) * width);
  }
  return out;
}

async function writeCheckpointLayer(writer: ShardWriter, l: MlxLayerExperts, dtype: MlxFloatDtype): Promise<void> {
  const bytes = async (t: SafetensorsTensor) => new Uint8Array(await readTensorBytes(t));
  const floats = async (t: SafetensorsTensor) => {
    const v = convertFloats(await readTensorBytes(t), t.dtype, dtype, t.name);
    return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  };
  const groupsH = l.get('gate_proj', 'scales').shape[2]!;
  const item = dtype === 'F32' ? 4 : 2;
  // Whole tensors: the evaluation path runs on the artifacts Llama-Pajamas writes, one layer at a time.
  await writer.write(
    `${l.stem}.gate_up_proj_blocks`,
    0,
    interleave(await bytes(l.get('gate_proj', 'weight')), await bytes(l.get('up_proj', 'weight')), groupsH * CODE_BYTES),
  );
  await writer.write(
    `${l.stem}.gate_up_proj_scales`,
    0,
    interleave(await bytes(l.get('gate_proj', 'scales')), await bytes(l.get('up_proj', 'scales')), groupsH),
  );
  const gateBias = await floats(l.get('gate_proj', 'bias'));
  const upBias = await floats(l.get('up_proj', 'bias'));
  const biasOut = new Uint8Array(2 * gateBias.length);
  for (let i = 0; i < gateBias.length / item; i++) {
    biasOut.set(gateBias.subarray(i * item, (i + 1) * item), 2 * i * item);
    biasOut.set(upBias.subarray(i * item, (i + 1) * item), (2 * i + 1) * item);
  }
  await writer.write(`${l.stem}.gate_up_proj_bias`, 0, biasOut);
  await writer.write(`${l.stem}.down_proj_blocks`, 0, await bytes(l.get('down_proj', 'weight')));
  await writer.write(`${l.stem}.down_proj_scales`, 0, await bytes(l.get('down_proj', 'scales')));
  await writer.write(`${l.stem}.down_proj_bias`, 0, await floats(l.get('down_proj', 'bias')));
}
