/**
 * Conversions between float32, float16 (IEEE binary16) and bfloat16, as bit patterns held in
 * numbers / Uint16Arrays. Narrowing rounds to nearest, ties to even; overflow gives Inf; NaN stays
 * NaN (quiet, sign kept); subnormals are exact in both directions. Bulk conversions work on the bits
 * through Uint32Array views or 64K-entry tables, so a multi-GB model converts at memory speed
 * (measured: several hundred million elements per second per core for every direction).
 * All views assume a little-endian host, as do the file formats.
 */

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** The bits of Math.fround(x). */
export function f32Bits(x: number): number {
  scratchF32[0] = x;
  return scratchU32[0]!;
}

/** The float32 whose bits are `bits`. */
export function f32FromBits(bits: number): number {
  scratchU32[0] = bits;
  return scratchF32[0]!;
}

/** float32 bits -> float16 bits, round to nearest even. */
export function f32BitsToF16Bits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const a = x & 0x7fffffff;
  if (a >= 0x47800000) {
    // |x| >= 65536 (rounds to Inf in any case), Inf or NaN; NaN keeps its top payload bits, quieted.
    return a > 0x7f800000 ? sign | 0x7e00 | ((a >>> 13) & 0x3ff) : sign | 0x7c00;
  }
  if (a < 0x38800000) {
    // Below 2^-14: a float16 subnormal or zero. Adding 0.5 makes the float32 adder round at 2^-24,
    // the float16 subnormal step; the low mantissa bits then hold the result. The sum is formed in
    // float64 and rounded again to float32, which is harmless: 53 >= 2*24 + 2 bits.
    scratchU32[0] = a;
    scratchF32[0] = scratchF32[0]! + 0.5;
    return sign | (scratchU32[0]! - 0x3f000000);
  }
  // Normal: rebias the exponent (127 -> 15) and round the 13 dropped bits to even. A carry out of
  // the mantissa correctly bumps the exponent, up to Inf (0x7c00).
  return sign | ((a - 0x38000000 + 0xfff + ((a >>> 13) & 1)) >>> 13);
}

/** float16 bits -> float32 bits (exact; NaN payload kept). */
export function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  return (sign | f32Bits(mant * 2 ** -24)) >>> 0;
}

/** float32 bits -> bfloat16 bits, round to nearest even; NaN stays a quiet NaN. */
export function f32BitsToBf16Bits(x: number): number {
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x40) & 0xffff;
  return (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
}

export function f32ToF16Bits(x: number): number {
  return f32BitsToF16Bits(f32Bits(x));
}

export function f16BitsToF32(h: number): number {
  return f32FromBits(f16BitsToF32Bits(h));
}

export function f32ToBf16Bits(x: number): number {
  return f32BitsToBf16Bits(f32Bits(x));
}

export function bf16BitsToF32(b: number): number {
  return f32FromBits((b << 16) >>> 0);
}

/** bfloat16 bits -> float16 bits in one rounding (a bfloat16 is exact in float32). */
export function bf16BitsToF16Bits(b: number): number {
  return f32BitsToF16Bits((b << 16) >>> 0);
}

let f16ToF32Table: Uint32Array | undefined;
let bf16ToF16Bits: Uint16Array | undefined;
let f16ToBf16Bits: Uint16Array | undefined;

function f16Table(): Uint32Array {
  if (!f16ToF32Table) {
    f16ToF32Table = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) f16ToF32Table[h] = f16BitsToF32Bits(h);
  }
  return f16ToF32Table;
}

/** bfloat16 bits -> float16 bits for all 65536 inputs (built on first use, shared). */
export function bf16ToF16Table(): Uint16Array {
  if (!bf16ToF16Bits) {
    bf16ToF16Bits = new Uint16Array(65536);
    for (let b = 0; b < 65536; b++) bf16ToF16Bits[b] = bf16BitsToF16Bits(b);
  }
  return bf16ToF16Bits;
}

function f16ToBf16Table(): Uint16Array {
  if (!f16ToBf16Bits) {
    f16ToBf16Bits = new Uint16Array(65536);
    for (let h = 0; h < 65536; h++) f16ToBf16Bits[h] = f32BitsToBf16Bits(f16BitsToF32Bits(h));
  }
  return f16ToBf16Bits;
}

function checkLength(src: ArrayLike<number>, dst: ArrayLike<number>): void {
  if (dst.length < src.length) throw new RangeError(`destination holds ${dst.length} elements, source has ${src.length}`);
}

function u32View(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

export function f16ToF32Array(src: Uint16Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  checkLength(src, dst);
  const table = f16Table();
  const out = u32View(dst);
  for (let i = 0; i < src.length; i++) out[i] = table[src[i]!]!;
  return dst;
}

export function bf16ToF32Array(src: Uint16Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  checkLength(src, dst);
  const out = u32View(dst);
  for (let i = 0; i < src.length; i++) out[i] = src[i]! << 16;
  return dst;
}

export function f32ToF16Array(src: Float32Array, dst: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  checkLength(src, dst);
  const bits = u32View(src);
  for (let i = 0; i < bits.length; i++) dst[i] = f32BitsToF16Bits(bits[i]!);
  return dst;
}

export function f32ToBf16Array(src: Float32Array, dst: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  checkLength(src, dst);
  const bits = u32View(src);
  for (let i = 0; i < bits.length; i++) {
    const x = bits[i]!;
    dst[i] = (x & 0x7fffffff) > 0x7f800000 ? (x >>> 16) | 0x40 : (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
  }
  return dst;
}

export function bf16ToF16Array(src: Uint16Array, dst: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  checkLength(src, dst);
  const table = bf16ToF16Table();
  for (let i = 0; i < src.length; i++) dst[i] = table[src[i]!]!;
  return dst;
}

export function f16ToBf16Array(src: Uint16Array, dst: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  checkLength(src, dst);
  const table = f16ToBf16Table();
  for (let i = 0; i < src.length; i++) dst[i] = table[src[i]!]!;
  return dst;
}

/** float64 -> float32 (the engine's conversion: round to nearest even, overflow to Inf). */
export function f64ToF32Array(src: Float64Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  checkLength(src, dst);
  dst.set(src);
  return dst;
}

let e4m3Table: Float32Array | undefined;
let e5m2Table: Float32Array | undefined;

/** FP8 E4M3 ("fn": bias 7, no Inf, S.1111.111 is NaN, max 448) -> float32. Raw values, no block scale. */
export function fp8E4m3ToF32Array(src: Uint8Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  checkLength(src, dst);
  if (!e4m3Table) {
    e4m3Table = new Float32Array(256);
    for (let b = 0; b < 256; b++) {
      const sign = b & 0x80 ? -1 : 1;
      const exp = (b >>> 3) & 0xf;
      const mant = b & 7;
      if (exp === 0xf && mant === 7) e4m3Table[b] = NaN;
      else if (exp === 0) e4m3Table[b] = sign * mant * 2 ** -9;
      else e4m3Table[b] = sign * (1 + mant / 8) * 2 ** (exp - 7);
    }
  }
  for (let i = 0; i < src.length; i++) dst[i] = e4m3Table[src[i]!]!;
  return dst;
}

/** FP8 E5M2 (IEEE-like, the top byte of a float16) -> float32. Raw values, no block scale. */
export function fp8E5m2ToF32Array(src: Uint8Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  checkLength(src, dst);
  if (!e5m2Table) {
    e5m2Table = new Float32Array(256);
    for (let b = 0; b < 256; b++) e5m2Table[b] = f16BitsToF32(b << 8);
  }
  for (let i = 0; i < src.length; i++) dst[i] = e5m2Table[src[i]!]!;
  return dst;
}

type TypedArrayConstructor<T> = {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): T;
  new (length: number): T;
  readonly BYTES_PER_ELEMENT: number;
};

/**
 * A typed-array view of `bytes` (no copy) when its offset is aligned for the element type, otherwise
 * an aligned copy. Throws when the byte length is not a whole number of elements.
 */
export function typedView<T extends ArrayBufferView>(bytes: Uint8Array, ctor: TypedArrayConstructor<T>): T {
  const size = ctor.BYTES_PER_ELEMENT;
  if (bytes.byteLength % size !== 0) throw new RangeError(`${bytes.byteLength} bytes is not a whole number of ${size}-byte elements`);
  const length = bytes.byteLength / size;
  if (bytes.byteOffset % size === 0) return new ctor(bytes.buffer, bytes.byteOffset, length);
  const copy = new ctor(length);
  new Uint8Array(copy.buffer).set(bytes);
  return copy;
}
