/**
 * MLX affine quantization on the main thread: argument checks, the dtype rounding of scales and
 * biases, and the packed layout of one quantized tensor. The loops themselves are in
 * affine-kernel.ts (shared with the worker threads of affine-pool.ts).
 */
import { InternalError, UsageError } from '../errors';
import { f32ToBf16Array, f32ToF16Array, bf16ToF32Array, f16ToF32Array } from '../formats/float';
import { createAffineKernel, ENCODING_BF16, ENCODING_F16, ENCODING_F32, type SourceEncodingId } from './affine-kernel';

export const MLX_AFFINE_BITS = [2, 3, 4, 5, 6, 8] as const;
export const MLX_AFFINE_GROUP_SIZES = [32, 64, 128] as const;

/** Float dtypes a quantized weight's scales and biases (and unquantized tensors) are stored in. */
export type MlxFloatDtype = 'BF16' | 'F16' | 'F32';

export interface AffineParams {
  bits: number;
  groupSize: number;
}

/** A quantized tensor before serialisation: scales and biases still in float32. */
export interface AffineQuantized {
  words: Uint32Array;
  scales: Float32Array;
  biases: Float32Array;
}

const kernel = createAffineKernel();

export function checkAffineParams(p: AffineParams): void {
  if (!(MLX_AFFINE_BITS as readonly number[]).includes(p.bits)) {
    throw new UsageError(`MLX affine quantization supports bits ${MLX_AFFINE_BITS.join(', ')}; got ${p.bits}`);
  }
  if (!(MLX_AFFINE_GROUP_SIZES as readonly number[]).includes(p.groupSize)) {
    throw new UsageError(`MLX affine quantization supports group sizes ${MLX_AFFINE_GROUP_SIZES.join(', ')}; got ${p.groupSize}`);
  }
}

/** True when a weight of this (HF-order) shape can be quantized with this group size. */
export function isQuantizableShape(shape: readonly number[], groupSize: number): boolean {
  return shape.length >= 2 && shape[shape.length - 1]! % groupSize === 0 && shape[shape.length - 1]! > 0;
}

/** Shape of the packed weight, scales and biases for a weight of `shape` (HF order). */
export function quantizedShapes(shape: readonly number[], p: AffineParams): { weight: number[]; scales: number[] } {
  const last = shape[shape.length - 1]!;
  const lead = shape.slice(0, -1);
  return { weight: [...lead, (last * p.bits) / 32], scales: [...lead, last / p.groupSize] };
}

export function encodingId(dtype: MlxFloatDtype): SourceEncodingId {
  return dtype === 'BF16' ? ENCODING_BF16 : dtype === 'F16' ? ENCODING_F16 : ENCODING_F32;
}

/**
 * Quantizes `count` consecutive elements (rows laid end to end; count must be a multiple of the
 * group size). `src` is float32 values, or bf16/f16 bit patterns when `dtype` says so.
 */
export function quantizeAffine(src: Float32Array | Uint16Array, dtype: MlxFloatDtype, p: AffineParams): AffineQuantized {
  checkAffineParams(p);
  const count = src.length;
  if (count % p.groupSize !== 0) {
    throw new InternalError(`cannot quantize ${count} elements in groups of ${p.groupSize}: not a whole number of groups`);
  }
  if ((dtype === 'F32') !== src instanceof Float32Array) {
    throw new InternalError(`source array does not match dtype ${dtype}`);
  }
  const out: AffineQuantized = {
    words: new Uint32Array((count * p.bits) / 32),
    scales: new Float32Array(count / p.groupSize),
    biases: new Float32Array(count / p.groupSize),
  };
  kernel.quantize(src, encodingId(dtype), count, p.bits, p.groupSize, out.words, out.scales, out.biases);
  return out;
}

/** Dequantizes packed words with float32 scales/biases: w' = scale * q + bias. */
export function dequantizeAffine(q: AffineQuantized, p: AffineParams, out?: Float32Array): Float32Array {
  checkAffineParams(p);
  const count = q.scales.length * p.groupSize;
  if (q.words.length * 32 !== count * p.bits || q.biases.length !== q.scales.length) {
    throw new UsageError(
      `packed weight of ${q.words.length} words does not match ${q.scales.length} groups of ${p.groupSize} at ${p.bits} bits`,
    );
  }
  const dst = out ?? new Float32Array(count);
  kernel.dequantize(q.words, q.scales, q.biases, count, p.bits, p.groupSize, dst);
  return dst;
}

/** Stored form of float32 values in `dtype` (what MLX's static_cast<T> gives: round to nearest even). */
export function encodeFloats(values: Float32Array, dtype: MlxFloatDtype): Uint16Array | Float32Array {
  if (dtype === 'BF16') return f32ToBf16Array(values);
  if (dtype === 'F16') return f32ToF16Array(values);
  return values;
}

/** Float32 values of a stored bf16/f16/f32 array. */
export function decodeFloats(stored: Uint16Array | Float32Array, dtype: MlxFloatDtype): Float32Array {
  if (dtype === 'F32') return stored as Float32Array;
  return dtype === 'BF16' ? bf16ToF32Array(stored as Uint16Array) : f16ToF32Array(stored as Uint16Array);
}

/** Scales and biases as MLX stores them: rounded to the weight's dtype (the words are unchanged). */
export function roundScalesAndBiases(q: AffineQuantized, dtype: MlxFloatDtype): AffineQuantized {
  return {
    words: q.words,
    scales: decodeFloats(encodeFloats(q.scales, dtype), dtype),
    biases: decodeFloats(encodeFloats(q.biases, dtype), dtype),
  };
}
