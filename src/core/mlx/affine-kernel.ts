/**
 * The affine quantizer's inner loops, written as ONE self-contained factory so that the same code
 * runs on the main thread and, stringified, inside worker threads (see affine-pool.ts). Nothing in
 * here may refer to anything outside the function body: no imports, no module constants.
 *
 * Semantics are MLX's CPU kernel ("affine" mode), in float32 (../shared/notes/mlx-format.md):
 *   mask  = |min| > |max|
 *   scale = max((max - min) / n, eps); scale = mask ? scale : -scale
 *   edge  = mask ? min : max;  q0 = rint(edge / scale)
 *   if q0 != 0: scale = edge / q0, bias = edge  else bias = 0
 *   q_i   = clamp(rint((w_i - bias) / scale), 0, n)
 * JavaScript computes in float64, so every float32 operation is followed by Math.fround: for +, -,
 * * and /, rounding the exact double result to float32 equals the float32 operation (double has more
 * than 2 * 24 + 2 bits). rint (round half to even) uses the 1.5 * 2^52 trick, exact for |x| < 2^51.
 */

/** Source element encodings the kernel reads directly (no float32 copy of the whole tensor). */
export const ENCODING_F32 = 0;
export const ENCODING_BF16 = 1;
export const ENCODING_F16 = 2;
export type SourceEncodingId = typeof ENCODING_F32 | typeof ENCODING_BF16 | typeof ENCODING_F16;

export interface AffineKernel {
  /**
   * Quantizes `count` elements (a multiple of groupSize) starting at `src[0]`; writes
   * count*bits/32 words and count/groupSize scales and biases (float32, before dtype rounding).
   */
  quantize(
    src: Float32Array | Uint16Array,
    encoding: SourceEncodingId,
    count: number,
    bits: number,
    groupSize: number,
    words: Uint32Array,
    scales: Float32Array,
    biases: Float32Array,
  ): void;
  /** w' = scale * q + bias in float32, for `count` elements. */
  dequantize(
    words: Uint32Array,
    scales: Float32Array,
    biases: Float32Array,
    count: number,
    bits: number,
    groupSize: number,
    out: Float32Array,
  ): void;
}

export function createAffineKernel(): AffineKernel {
  const MAGIC = 6755399441055744; // 1.5 * 2^52: adding and subtracting it rounds half to even
  const TWO_POW_23 = 8388608; // float32 values at or above this are integers already
  const EPS = Math.fround(1e-7);
  // Distance from an integer beyond which the fast path's quotient may round differently (its
  // error is below 2^-22 * |q|, and |q| < 2^9 wherever the result is not clamped anyway).
  const NEAR_HALF = 0.5 - 2 ** -10;
  const BLOCK = 4096; // elements converted to float32 at a time: a multiple of every group size
  const MAX_GROUP = 128;
  const fround = Math.fround;
  const abs = Math.abs;

  // Values are float32 numbers held as float64: a float64 block and float64 tables (512 KiB,
  // cache-resident) save a conversion per load, measured 5-10% faster than float32 arrays.
  const block = new Float64Array(BLOCK);
  const bf16Values = new Float64Array(65536);
  for (let b = 0; b < 65536; b++) {
    const sign = b & 0x8000 ? -1 : 1;
    const exp = (b >> 7) & 0xff;
    const frac = b & 0x7f;
    if (exp === 0) bf16Values[b] = sign * frac * 2 ** -133;
    else if (exp === 255) bf16Values[b] = frac ? NaN : sign * Infinity;
    else bf16Values[b] = sign * (1 + frac / 128) * 2 ** (exp - 127);
  }
  const levels = new Uint8Array(MAX_GROUP); // one group's q values
  const range = new Float64Array(2); // [min, max] of the current group
  const packed = new Uint8Array((MAX_GROUP * 8) / 8 + 8);
  const packed32 = new Uint32Array(packed.buffer);
  let halfTable: Float64Array | null = null;

  function rint(x: number): number {
    if (!(abs(x) < TWO_POW_23)) return x;
    return x + MAGIC - MAGIC;
  }

  function halfToFloat(): Float64Array {
    if (halfTable) return halfTable;
    const table = new Float64Array(65536);
    for (let h = 0; h < 65536; h++) {
      const sign = h & 0x8000 ? -1 : 1;
      const exp = (h >> 10) & 0x1f;
      const frac = h & 0x3ff;
      if (exp === 0) table[h] = sign * frac * 2 ** -24;
      else if (exp === 31) table[h] = frac ? NaN : sign * Infinity;
      else table[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
    }
    halfTable = table;
    return table;
  }

  /**
   * Packs one group's levels (3, 5 or 6 bits) into words[w...] as a little-endian bit stream
   * (value j at bits [j*bits, j*bits+bits)) and returns the next word index: 8 or 4 values fill 5
   * or 3 bytes, as in MLX, and the bytes are then copied as words (the stream is little-endian).
   */
  function pack(bits: number, g: number, words: Uint32Array, w: number): number {
    const q = levels;
    let o = 0;
    if (bits === 3) {
      for (let k = 0; k < g; k += 8) {
        const x =
          q[k] |
          (q[k + 1] << 3) |
          (q[k + 2] << 6) |
          (q[k + 3] << 9) |
          (q[k + 4] << 12) |
          (q[k + 5] << 15) |
          (q[k + 6] << 18) |
          (q[k + 7] << 21);
        packed[o] = x;
        packed[o + 1] = x >>> 8;
        packed[o + 2] = x >>> 16;
        o += 3;
      }
    } else if (bits === 6) {
      for (let k = 0; k < g; k += 4) {
        const x = q[k] | (q[k + 1] << 6) | (q[k + 2] << 12) | (q[k + 3] << 18);
        packed[o] = x;
        packed[o + 1] = x >>> 8;
        packed[o + 2] = x >>> 16;
        o += 3;
      }
    } else {
      for (let k = 0; k < g; k += 8) {
        const lo = q[k] | (q[k + 1] << 5) | (q[k + 2] << 10) | (q[k + 3] << 15);
        const hi = q[k + 4] | (q[k + 5] << 5) | (q[k + 6] << 10) | (q[k + 7] << 15);
        packed[o] = lo;
        packed[o + 1] = lo >>> 8;
        packed[o + 2] = (lo >>> 16) | (hi << 4);
        packed[o + 3] = hi >>> 4;
        packed[o + 4] = hi >>> 12;
        o += 5;
      }
    }
    for (let k = 0; k < o >> 2; k++) words[w++] = packed32[k];
    return w;
  }

  /**
   * Copies one group into the block buffer (converting bf16/f16 bits) and returns its
   * [min, max] through `range`; one pass, since a separate conversion loop costs as much again.
   */
  function loadGroup(src: Float32Array | Uint16Array, encoding: number, from: number, base: number, end: number): void {
    let min = Infinity;
    let max = -Infinity;
    if (encoding === 1) {
      const table = bf16Values;
      for (let j = base, i = from; j < end; j++, i++) {
        const x = table[src[i]];
        block[j] = x;
        if (x > max) max = x;
        if (x < min) min = x;
      }
    } else {
      const table = encoding === 2 ? halfToFloat() : null;
      for (let j = base, i = from; j < end; j++, i++) {
        block[j] = table ? table[src[i]] : src[i];
        const x = block[j];
        if (x > max) max = x;
        if (x < min) min = x;
      }
    }
    range[0] = min;
    range[1] = max;
  }

  // The level loops. Fast path: multiply by the double reciprocal instead of the float32 division
  // of the float32 difference; the result is within 2^-22 relative of it, so it rounds the same
  // unless it lies near a half-integer, and those rare values take the exact path. No lower clamp:
  // (w - bias) / scale >= -0.5 by the choice of bias, and rint(-0.5) = -0 -> level 0.

  /** 2, 4 and 8 bits: whole values per word, packed as they are computed; returns the next word. */
  function levelsDirect(base: number, end: number, bits: number, scale: number, bias: number, words: Uint32Array, w: number): number {
    const v = block;
    const n = (1 << bits) - 1;
    const inv = 1 / scale;
    let acc = 0;
    let shift = 0;
    for (let j = base; j < end; j++) {
      const x = v[j];
      const t = (x - bias) * inv;
      let q = t + MAGIC - MAGIC;
      if (abs(t - q) > NEAR_HALF) q = fround(fround(x - bias) / scale) + MAGIC - MAGIC;
      if (q > n) q = n;
      acc |= q << shift;
      shift += bits;
      if (shift === 32) {
        words[w++] = acc;
        acc = 0;
        shift = 0;
      }
    }
    return w;
  }

  /** 3, 5 and 6 bits: levels into `levels`, packed afterwards. */
  function levelsBuffered(base: number, end: number, bits: number, scale: number, bias: number): void {
    const v = block;
    const n = (1 << bits) - 1;
    const inv = 1 / scale;
    for (let j = base, k = 0; j < end; j++, k++) {
      const x = v[j];
      const t = (x - bias) * inv;
      let q = t + MAGIC - MAGIC;
      if (abs(t - q) > NEAR_HALF) q = fround(fround(x - bias) / scale) + MAGIC - MAGIC;
      if (q > n) q = n;
      levels[k] = q;
    }
  }

  function quantize(
    src: Float32Array | Uint16Array,
    encoding: SourceEncodingId,
    count: number,
    bits: number,
    groupSize: number,
    words: Uint32Array,
    scales: Float32Array,
    biases: Float32Array,
  ): void {
    const n = (1 << bits) - 1;
    const direct = (bits & (bits - 1)) === 0;
    let w = 0;
    let gi = 0;
    for (let start = 0; start < count; start += BLOCK) {
      const size = Math.min(BLOCK, count - start);
      for (let base = 0; base < size; base += groupSize, gi++) {
        const end = base + groupSize;
        loadGroup(src, encoding, start + base, base, end);
        // The extreme of larger magnitude becomes the bias (level 0); the scale is adjusted so that
        // 0.0 is a level. (Inline: a helper returning two values measured 3-4% slower.)
        const min = range[0];
        const max = range[1];
        const mask = abs(min) > abs(max);
        let scale = fround(fround(max - min) / n);
        if (scale < EPS) scale = EPS;
        if (!mask) scale = -scale;
        const edge = mask ? min : max;
        const q0 = rint(fround(edge / scale));
        let bias = 0;
        if (q0 !== 0) {
          scale = fround(edge / q0);
          bias = edge;
        }
        scales[gi] = scale;
        biases[gi] = bias;
        if (direct) {
          w = levelsDirect(base, end, bits, scale, bias, words, w);
        } else {
          levelsBuffered(base, end, bits, scale, bias);
          w = pack(bits, groupSize, words, w);
        }
      }
    }
  }

  function dequantize(
    words: Uint32Array,
    scales: Float32Array,
    biases: Float32Array,
    count: number,
    bits: number,
    groupSize: number,
    out: Float32Array,
  ): void {
    const mask = (1 << bits) - 1;
    let w = 0;
    let acc = 0;
    let avail = 0;
    for (let i = 0; i < count; i++) {
      let q: number;
      if (avail >= bits) {
        q = acc & mask;
        acc >>>= bits;
        avail -= bits;
      } else {
        const next = words[w++];
        // Low `avail` bits come from the previous word, the rest from the next one.
        q = (acc | (next << avail)) & mask;
        const used = bits - avail;
        acc = used < 32 ? next >>> used : 0;
        avail = 32 - used;
      }
      const g = (i / groupSize) | 0;
      out[i] = fround(fround(scales[g] * q) + biases[g]);
    }
  }

  // Run every path once on a small input: V8 then optimizes the loops with complete type
  // feedback, instead of compiling for the first width seen and deoptimizing later (measured:
  // up to 1.6x slower code in steady state without this).
  const warmSrc = new Uint16Array(256);
  for (let i = 0; i < 256; i++) warmSrc[i] = (Math.imul(i, 0x9e3779b1) >>> 16) & 0xbfff;
  const warmF32 = new Float32Array(256).map((_, i) => (i % 7) - 3.25);
  const warmWords = new Uint32Array(64);
  const warmScales = new Float32Array(8);
  const warmBiases = new Float32Array(8);
  for (const b of [2, 3, 4, 5, 6, 8]) {
    for (const g of [32, 64, 128]) {
      quantize(warmSrc, 1, 256, b, g, warmWords, warmScales, warmBiases);
      quantize(warmSrc, 2, 256, b, g, warmWords, warmScales, warmBiases);
      quantize(warmF32, 0, 256, b, g, warmWords, warmScales, warmBiases);
    }
  }
  return { quantize, dequantize };
}
