/**
 * How each GGUF tensor is made, decided from the safetensors headers alone: which source tensors
 * (or rows of them) are concatenated, which transform applies, and the output type. The data pass
 * (tensor-data.ts) follows these recipes one tensor at a time.
 */
import type { GgmlTypeName } from '../formats/ggml-types';
import type { SafetensorsTensor } from '../formats/safetensors';

/** A run of rows of one source tensor, seen as a matrix [rows, rowLength] (1-D: rowLength 1). */
export interface SourceSegment {
  tensor: SafetensorsTensor;
  firstRow: number;
  rows: number;
  rowLength: number;
}

export interface TensorTransform {
  /**
   * Rotary Q/K rows, llama.cpp's permute: within each of `ropeHeads` heads, row (j*half + i)
   * moves to (2i + j), from Hugging Face's half-split layout to GGML's interleaved pairs.
   */
  ropeHeads?: number;
  /** Added to every element in float32 (Gemma stores RMSNorm weights as w - 1). */
  add?: number;
  /**
   * Keeps elements start, start + step, ... (count of them) of every source row: gpt-oss interleaves
   * the gate and up units of its experts (even: gate, odd: up).
   */
  pick?: { start: number; step: number; count: number };
  /**
   * Each segment (after `pick`) is written transposed: gpt-oss stores its bf16 experts as
   * [experts, in, out], llama.cpp wants [experts, out, in].
   */
  transpose?: boolean;
}

/**
 * Experts kept in MXFP4 (OCP microscaling FP4): `blocks` [experts, rows, groups, 16] hold two
 * 4-bit E2M1 codes per byte (value 2k in the low nibble of byte k), `scales` [experts, rows, groups]
 * one E8M0 exponent per 32 values. The converter repacks them into ggml's MXFP4 blocks without
 * dequantizing; rows firstRow, firstRow + rowStep, ... (`rows` of them) of every expert are taken.
 */
export interface Mxfp4Source {
  blocks: SafetensorsTensor;
  scales: SafetensorsTensor;
  firstRow: number;
  rowStep: number;
  rows: number;
}

export interface TensorRecipe {
  /** GGUF name. */
  name: string;
  /** GGUF order (ne[0] first). */
  shape: number[];
  /** Output type. */
  type: GgmlTypeName;
  hfName: string | string[] | null;
  sourceDtype?: string;
  /** Concatenated in order; empty for generated tensors. */
  segments: SourceSegment[];
  transform: TensorTransform;
  /** A tensor the converter computes (rope frequency factors), written as float32. */
  generated?: Float32Array;
  /** An MXFP4 tensor repacked from the checkpoint's blocks and scales (segments stay empty). */
  mxfp4?: Mxfp4Source;
}

/** Output file types of `convert --outtype` and their general.file_type ids (llama_ftype). */
export const OUT_TYPES = { f32: { type: 'F32', ftype: 0 }, f16: { type: 'F16', ftype: 1 }, bf16: { type: 'BF16', ftype: 32 } } as const;
export type OutType = keyof typeof OUT_TYPES;

export function isOutType(s: string): s is OutType {
  return Object.prototype.hasOwnProperty.call(OUT_TYPES, s);
}

/** GGUF bases llama.cpp keeps in float32 whatever the file type: routers and the like. */
const ALWAYS_F32 = new Set(['ffn_gate_inp', 'ffn_gate_inp_shexp', 'pos_embd', 'token_types', 'ssm_conv1d']);

/**
 * The type llama.cpp's converter gives a tensor: float32 for 1-D tensors, norms, biases and
 * routers; the requested type for other weight matrices.
 */
export function outputTypeFor(name: string, nDims: number, out: OutType): GgmlTypeName {
  if (nDims <= 1 || name.endsWith('_norm.weight') || !name.endsWith('.weight')) return 'F32';
  const base = name.replace(/^blk\.\d+\./, '').replace(/\.weight$/, '');
  if (ALWAYS_F32.has(base)) return 'F32';
  return OUT_TYPES[out].type;
}

/** A recipe copying `segments` in order, with the output type llama.cpp's converter would choose. */
export function makeRecipe(
  name: string,
  shape: number[],
  out: OutType,
  hfName: string | string[],
  dtype: string,
  segments: SourceSegment[],
  transform: TensorTransform = {},
): TensorRecipe {
  return { name, shape, type: outputTypeFor(name, shape.length, out), hfName, sourceDtype: dtype, segments, transform };
}
