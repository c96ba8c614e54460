import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  bf16BitsToF16Bits,
  bf16BitsToF32,
  bf16ToF16Array,
  bf16ToF32Array,
  f16BitsToF32,
  f16ToBf16Array,
  f16ToF32Array,
  f32Bits,
  f32BitsToBf16Bits,
  f32BitsToF16Bits,
  f32FromBits,
  f32ToBf16Array,
  f32ToBf16Bits,
  f32ToF16Array,
  f32ToF16Bits,
  f64ToF32Array,
  fp8E4m3ToF32Array,
  fp8E5m2ToF32Array,
  typedView,
} from '../../../src/core/formats/float';

const hex = (n: number) => `0x${n.toString(16).padStart(4, '0')}`;

describe('float32 -> float16', () => {
  const cases: [string, number, number][] = [
    ['one', 1, 0x3c00],
    ['minus two', -2, 0xc000],
    ['0.1 (rounded)', 0.1, 0x2e66],
    ['largest finite', 65504, 0x7bff],
    ['just below the overflow tie', 65519.99, 0x7bff],
    ['overflow tie rounds to even = Inf', 65520, 0x7c00],
    ['overflow', 1e6, 0x7c00],
    ['negative overflow', -1e6, 0xfc00],
    ['Inf', Infinity, 0x7c00],
    ['-Inf', -Infinity, 0xfc00],
    ['+0', 0, 0x0000],
    ['-0', -0, 0x8000],
    ['smallest normal', 2 ** -14, 0x0400],
    ['largest subnormal', 1023 * 2 ** -24, 0x03ff],
    ['smallest subnormal', 2 ** -24, 0x0001],
    ['half the smallest subnormal ties to 0', 2 ** -25, 0x0000],
    ['just above half the smallest subnormal', 2 ** -25 * 1.001, 0x0001],
    ['subnormal tie 1.5 ulp rounds to even 2', 3 * 2 ** -25, 0x0002],
    ['subnormal tie 2.5 ulp rounds to even 2', 5 * 2 ** -25, 0x0002],
    ['below the subnormal range', 1e-8, 0x0000],
    ['tie 1 + 2^-11 rounds down to even', 1 + 2 ** -11, 0x3c00],
    ['tie 1 + 3*2^-11 rounds up to even', 1 + 3 * 2 ** -11, 0x3c02],
    ['above the tie rounds up', 1 + 2 ** -11 + 2 ** -20, 0x3c01],
    ['subnormal rounding up into the normal range', 2 ** -14 - 2 ** -26, 0x0400],
  ];
  for (const [name, x, expected] of cases) {
    it(`${name}: ${x} -> ${hex(expected)}`, () => assert.equal(hex(f32ToF16Bits(x)), hex(expected)));
  }

  it('NaN stays a quiet NaN with its sign', () => {
    const h = f32ToF16Bits(NaN);
    assert.equal(h & 0x7c00, 0x7c00);
    assert.ok((h & 0x3ff) !== 0 && (h & 0x200) !== 0);
    const signalling = f32BitsToF16Bits(0xff800001);
    assert.equal(signalling & 0x8000, 0x8000);
    assert.ok(Number.isNaN(f16BitsToF32(signalling)));
  });

  it('round-trips every float16 value exactly', () => {
    for (let h = 0; h < 0x10000; h++) {
      const back = f32ToF16Bits(f16BitsToF32(h));
      if ((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0) assert.ok(Number.isNaN(f16BitsToF32(back)));
      else assert.equal(back, h, `bits ${hex(h)}`);
    }
  });

  it('matches a reference rounding of random float32 values', () => {
    const src = new Float32Array(20000);
    for (let i = 0; i < src.length; i++) src[i] = (Math.random() - 0.5) * 2 ** (Math.floor(Math.random() * 44) - 28);
    const out = f32ToF16Array(src);
    for (let i = 0; i < src.length; i++) assert.equal(out[i], referenceF16(src[i]!), `value ${src[i]}`);
  });
});

/** Slow reference: nearest representable float16 by search, ties to even mantissa. */
function referenceF16(x: number): number {
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  let lo = 0;
  let hi = 0x7c00;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (f16BitsToF32(mid) <= a) lo = mid;
    else hi = mid;
  }
  const dLo = a - f16BitsToF32(lo);
  const dHi = (hi === 0x7c00 ? 65536 : f16BitsToF32(hi)) - a;
  const pick = dLo < dHi ? lo : dHi < dLo ? hi : lo % 2 === 0 ? lo : hi;
  return sign | pick;
}

describe('float16 -> float32', () => {
  const cases: [number, number][] = [
    [0x3c00, 1],
    [0x3555, 0.333251953125],
    [0x0001, 2 ** -24],
    [0x03ff, 1023 * 2 ** -24],
    [0x7bff, 65504],
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
  ];
  for (const [h, expected] of cases) it(`${hex(h)} -> ${expected}`, () => assert.equal(f16BitsToF32(h), expected));
  it('-0 and NaN', () => {
    assert.ok(Object.is(f16BitsToF32(0x8000), -0));
    assert.ok(Number.isNaN(f16BitsToF32(0x7e00)));
  });
  it('bulk conversion equals the scalar one for every value', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const out = f16ToF32Array(all);
    const bits = new Uint32Array(out.buffer);
    for (let h = 0; h < 65536; h++) {
      const isNaN16 = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      // A NaN that passes through a JS number may come back quieted (V8 does not keep payloads), so
      // NaNs are checked on the bulk side alone: sign, all-ones exponent and the payload kept.
      if (isNaN16) assert.equal(bits[h], (((h & 0x8000) << 16) | 0x7f800000 | ((h & 0x3ff) << 13)) >>> 0, hex(h));
      else assert.equal(bits[h], f32Bits(f16BitsToF32(h)) >>> 0, hex(h));
    }
  });
});

describe('float32 <-> bfloat16', () => {
  const cases: [string, number, number][] = [
    ['one', 0x3f800000, 0x3f80],
    ['pi rounds down', 0x40490fdb, 0x4049],
    ['tie rounds to even (down)', 0x3f808000, 0x3f80],
    ['tie rounds to even (up)', 0x3f818000, 0x3f82],
    ['above the tie rounds up', 0x3f808001, 0x3f81],
    ['largest float32 overflows to Inf', 0x7f7fffff, 0x7f80],
    ['-Inf', 0xff800000, 0xff80],
    ['smallest subnormal to 0', 0x00000001, 0x0000],
    ['subnormal tie to even', 0x00018000, 0x0002],
    ['-0', 0x80000000, 0x8000],
  ];
  for (const [name, bits, expected] of cases) {
    it(`${name}: ${bits.toString(16)} -> ${hex(expected)}`, () => assert.equal(hex(f32BitsToBf16Bits(bits)), hex(expected)));
  }
  it('NaN stays NaN, also a signalling NaN whose payload is in the dropped bits', () => {
    assert.equal(f32BitsToBf16Bits(0x7fc00000), 0x7fc0);
    assert.ok(Number.isNaN(bf16BitsToF32(f32BitsToBf16Bits(0x7f800001))));
    assert.ok(Number.isNaN(bf16BitsToF32(f32ToBf16Bits(NaN))));
  });
  it('bulk conversions agree with the scalar ones', () => {
    const src = new Float32Array([1, -2.5, 3.14159, 1e-40, NaN, Infinity, -0, 65504, 1e38]);
    const b = f32ToBf16Array(src);
    assert.deepEqual(
      [...b],
      [...src].map((x) => f32ToBf16Bits(x)),
    );
    const back = bf16ToF32Array(b);
    assert.deepEqual(
      [...back].map((x) => f32Bits(x) >>> 0),
      [...b].map((h) => f32Bits(bf16BitsToF32(h)) >>> 0),
    );
    assert.equal(back[0], 1);
    assert.equal(back[1], -2.5);
  });
});

describe('bfloat16 -> float16', () => {
  it('converts in one rounding, including overflow and subnormals', () => {
    assert.equal(bf16BitsToF16Bits(0x3f80), 0x3c00);
    assert.equal(bf16BitsToF16Bits(f32ToBf16Bits(1e5)), 0x7c00);
    assert.equal(bf16BitsToF16Bits(0x3380), 0x0001); // 2^-24
    assert.equal(bf16BitsToF16Bits(0x3300), 0x0000); // 2^-25: tie to even
    assert.equal(bf16BitsToF16Bits(0x3f81), 0x3c08); // 1 + 2^-7: exact in float16
  });
  it('bulk equals scalar for every value', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const out = bf16ToF16Array(all);
    for (let b = 0; b < 65536; b += 7) assert.equal(out[b], f32BitsToF16Bits((b << 16) >>> 0));
  });
});

describe('float16 -> bfloat16', () => {
  it('bulk equals the scalar path through float32 for every value', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const out = f16ToBf16Array(all);
    for (let h = 0; h < 65536; h += 5) assert.equal(out[h], f32ToBf16Bits(f16BitsToF32(h)), hex(h));
    assert.equal(out[0x3c00], 0x3f80); // 1
    assert.equal(out[0x0001], f32ToBf16Bits(2 ** -24)); // the smallest subnormal survives (bf16 has float32's range)
  });
});

describe('other conversions', () => {
  it('float64 -> float32 rounds to nearest even', () => {
    const out = f64ToF32Array(new Float64Array([1 + 2 ** -24, 1 + 3 * 2 ** -24, 1e39]));
    assert.deepEqual([...out], [1, 1 + 2 ** -22, Infinity]);
  });
  it('FP8 E4M3 and E5M2 decode', () => {
    const e4 = fp8E4m3ToF32Array(new Uint8Array([0x38, 0x7e, 0x01, 0xb8, 0x7f]));
    assert.deepEqual([...e4.subarray(0, 4)], [1, 448, 2 ** -9, -1]);
    assert.ok(Number.isNaN(e4[4]));
    const e5 = fp8E5m2ToF32Array(new Uint8Array([0x3c, 0x7c, 0x01, 0xc0]));
    assert.deepEqual([...e5], [1, Infinity, 2 ** -16, -2]);
  });
  it('typedView is zero-copy when aligned and copies when not', () => {
    const buf = new Uint8Array(10);
    new DataView(buf.buffer).setUint16(2, 0x3c00, true);
    const aligned = typedView(buf.subarray(2, 6), Uint16Array);
    assert.equal(aligned.buffer, buf.buffer);
    assert.equal(aligned[0], 0x3c00);
    new DataView(buf.buffer).setFloat32(1, 1.5, true);
    const copied = typedView(buf.subarray(1, 5), Float32Array);
    assert.notEqual(copied.buffer, buf.buffer);
    assert.equal(copied[0], 1.5);
    assert.throws(() => typedView(buf.subarray(0, 3), Uint16Array), /whole number/);
  });
  it('f32FromBits and f32Bits are inverse', () => {
    assert.equal(f32FromBits(0x3f800000), 1);
    assert.equal(f32Bits(1) >>> 0, 0x3f800000);
  });
});
