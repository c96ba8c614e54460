/**
 * Test-side tools for the MLX affine quantizer, written from the rules in
 * ../shared/notes/mlx-format.md and independent of src/core/mlx: a bit-by-bit packer, bf16/f32
 * bit helpers, and the per-element error bound used on read-back.
 */

/** Levels packed as one little-endian bit stream (value i at bits [i*b, i*b+b)), bit by bit. */
export function packStream(levels: readonly number[], bits: number): number[] {
  const words = new Array<number>((levels.length * bits) / 32).fill(0);
  levels.forEach((q, i) => {
    for (let b = 0; b < bits; b++) {
      if ((q >> b) & 1) {
        const bit = i * bits + b;
        words[bit >> 5] = (words[bit >> 5]! | (1 << (bit & 31))) >>> 0;
      }
    }
  });
  return words;
}

/** Levels of a packed stream, bit by bit. */
export function unpackStream(words: ArrayLike<number>, bits: number, count: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    let q = 0;
    for (let b = 0; b < bits; b++) {
      const bit = i * bits + b;
      if ((words[bit >> 5]! >>> (bit & 31)) & 1) q |= 1 << b;
    }
    out.push(q);
  }
  return out;
}

export function hex(words: ArrayLike<number>): string[] {
  return Array.from(words as ArrayLike<number>, (w) => (w >>> 0).toString(16).padStart(8, '0'));
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function f32Bits(x: number): number {
  f32[0] = x;
  return u32[0]!;
}

/** bf16 bits of a value that is exactly representable in bf16 (asserted by the caller's choice of values). */
export function exactBf16(x: number): number {
  const bits = f32Bits(x);
  if ((bits & 0xffff) !== 0) throw new Error(`${x} is not exact in bf16`);
  return bits >>> 16;
}

/** Relative half-ulp of a stored dtype (normal range) and the absolute rounding of its subnormals. */
export const DTYPE_ROUNDING: Record<'BF16' | 'F16' | 'F32', { relative: number; absolute: number }> = {
  BF16: { relative: 2 ** -8, absolute: 2 ** -134 },
  F16: { relative: 2 ** -11, absolute: 2 ** -25 },
  F32: { relative: 0, absolute: 0 },
};

/**
 * Largest allowed |w - w'| for an element dequantized from level q with stored scale s and bias b:
 * |s|/2 from rounding to a level, or up to |s| at the top level n, where MLX clips the far extreme
 * (scale = edge / rint(edge / scale) can put it up to one level past n); plus what rounding the
 * scale and bias to the stored dtype can add (|q| * ds + db), plus float32 arithmetic.
 */
export function errorBound(q: number, n: number, s: number, b: number, w: number, dtype: 'BF16' | 'F16' | 'F32', allowClip = true): number {
  const r = DTYPE_ROUNDING[dtype];
  const ds = Math.abs(s) * r.relative * 1.01 + r.absolute;
  const db = Math.abs(b) * r.relative * 1.01 + r.absolute;
  const level = allowClip && q === n ? 1 : 0.5;
  const arithmetic = 2 ** -22 * (Math.abs(w) + Math.abs(b) + n * Math.abs(s));
  return level * (Math.abs(s) + ds) + q * ds + db + arithmetic;
}

/** Deterministic pseudo-random numbers in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 2 ** 32;
  };
}

/** Weight-like values (sum of uniforms, a few outliers) rounded to bf16 bits. */
export function randomBf16(count: number, seed: number, spread = 0.04): Uint16Array {
  const rand = rng(seed);
  const out = new Uint16Array(count);
  for (let i = 0; i < count; i++) {
    const x = (rand() + rand() + rand() - 1.5) * spread * (rand() < 0.002 ? 25 : 1);
    const bits = f32Bits(x);
    out[i] = (bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16;
  }
  return out;
}

/** x rounded to bf16 (nearest even), as a number. */
export function roundToBf16(x: number): number {
  const bits = f32Bits(x);
  return bf16ToNumber((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16);
}

export function bf16ToNumber(b: number): number {
  u32[0] = (b << 16) >>> 0;
  return f32[0]!;
}
