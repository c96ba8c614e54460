/**
 * The MLX affine quantizer against the test vectors of ../shared/notes/mlx-format.md (bit for bit)
 * and against vectors derived by hand from the note's rules: every bits/group combination, and edge
 * groups (all zero, all negative, ties, single outliers, the clipped far extreme). Expected words
 * come from the test's own bit-by-bit packer, never from the code under test.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MLX_AFFINE_BITS,
  MLX_AFFINE_GROUP_SIZES,
  dequantizeAffine,
  encodeFloats,
  quantizeAffine,
  roundScalesAndBiases,
  type MlxFloatDtype,
} from '../../../src/core/mlx/affine';
import { AffinePool } from '../../../src/core/mlx/affine-pool';
import { errorBound, exactBf16, f32Bits, hex, packStream, randomBf16, bf16ToNumber, unpackStream } from './affine-helpers';

interface Vector {
  id: string;
  bits: number;
  groupSize: number;
  input: number[];
  words: string[];
  scale: number;
  bias: number;
}

const range = <T = number>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

// The note's table, verbatim.
const NOTE_VECTORS: Vector[] = [
  {
    id: 'T1',
    bits: 4,
    groupSize: 32,
    input: range(32, (i) => i % 16),
    words: ['89abcdef', '01234567', '89abcdef', '01234567'],
    scale: -1,
    bias: 15,
  },
  {
    id: 'T2',
    bits: 4,
    groupSize: 32,
    input: range(32, (i) => -(i % 16)),
    words: ['89abcdef', '01234567', '89abcdef', '01234567'],
    scale: 1,
    bias: -15,
  },
  { id: 'T3', bits: 3, groupSize: 32, input: range(32, (i) => i % 8), words: ['77053977', '39770539', '05397705'], scale: -1, bias: 7 },
  {
    id: 'T4',
    bits: 5,
    groupSize: 32,
    input: range(32, (i) => i),
    words: ['75be77df', '3a56d7c6', '35cf8465', 'c74254b6', '00443214'],
    scale: -1,
    bias: 31,
  },
  {
    id: 'T5',
    bits: 6,
    groupSize: 64,
    input: range(64, (i) => i),
    words: [
      'bbf3dfbf',
      '5db7e39e',
      'c31cb3d3',
      'abb2dbaf',
      '59a7a29a',
      '8218a392',
      '9b71d79f',
      '55976196',
      '41149351',
      '8b30d38f',
      '51872092',
      '00108310',
    ],
    scale: -1,
    bias: 63,
  },
  { id: 'T6', bits: 2, groupSize: 32, input: range(32, (i) => i % 4), words: ['1b1b1b1b', '1b1b1b1b'], scale: -1, bias: 3 },
  {
    id: 'T7',
    bits: 8,
    groupSize: 32,
    input: range(32, (i) => (i === 31 ? 255 : 8 * i)),
    words: ['e7eff7ff', 'c7cfd7df', 'a7afb7bf', '878f979f', '676f777f', '474f575f', '272f373f', '000f171f'],
    scale: -1,
    bias: 255,
  },
  {
    id: 'T8',
    bits: 4,
    groupSize: 32,
    input: range(32, () => 0),
    words: ['00000000', '00000000', '00000000', '00000000'],
    scale: NaN,
    bias: 0,
  },
];

/** The same values as bf16 / f16 bit patterns / float32, for the three source encodings. */
function encodings(values: number[]): { dtype: MlxFloatDtype; src: Float32Array | Uint16Array }[] {
  const f32 = Float32Array.from(values);
  return [
    { dtype: 'F32', src: f32 },
    { dtype: 'BF16', src: Uint16Array.from(values, exactBf16) },
    { dtype: 'F16', src: encodeFloats(f32, 'F16') as Uint16Array },
  ];
}

function quantizeAll(values: number[], bits: number, groupSize: number) {
  return encodings(values).map(({ dtype, src }) => ({ dtype, q: quantizeAffine(src, dtype, { bits, groupSize }) }));
}

describe("MLX affine quantizer: the note's test vectors", () => {
  for (const v of NOTE_VECTORS) {
    it(`${v.id}: ${v.bits}-bit, group ${v.groupSize}`, () => {
      for (const { dtype, q } of quantizeAll(v.input, v.bits, v.groupSize)) {
        assert.deepEqual(hex(q.words), v.words, `${v.id} words from ${dtype} input`);
        if (v.id === 'T8') assert.equal(f32Bits(q.scales[0]!), 0xb3d6bf95, 'all-zero group: scale = -1e-7 in float32');
        else assert.equal(q.scales[0], v.scale);
        assert.equal(q.biases[0], v.bias);
      }
    });
  }

  it('T1 stores scale and bias as bf16 bf80/4170 and f16 bc00/4b80', () => {
    const q = quantizeAffine(Float32Array.from(NOTE_VECTORS[0]!.input), 'F32', { bits: 4, groupSize: 32 });
    assert.deepEqual([...encodeFloats(q.scales, 'BF16'), ...encodeFloats(q.biases, 'BF16')], [0xbf80, 0x4170]);
    assert.deepEqual([...encodeFloats(q.scales, 'F16'), ...encodeFloats(q.biases, 'F16')], [0xbc00, 0x4b80]);
  });
});

describe('MLX affine quantizer: every bits/group combination', () => {
  // Levels k_i in 0..n with k_0 = 0 and k_1 = n. For w = s*k (s a power of two, so every step is
  // exact): min 0, max n*s, |min| > |max| is false -> scale = -s; edge = n*s, q0 = rint(-n) = -n,
  // scale = n*s / -n = -s, bias = n*s, q_i = rint((s*k_i - n*s) / -s) = n - k_i.
  // For w = -s*k: min -n*s, max 0 -> mask -> scale = +s, bias = -n*s, q_i = n - k_i again.
  const s = 2 ** -6;
  for (const bits of MLX_AFFINE_BITS) {
    for (const groupSize of MLX_AFFINE_GROUP_SIZES) {
      it(`${bits}-bit, group ${groupSize}: both signs, three source dtypes, two groups`, () => {
        const n = 2 ** bits - 1;
        const k = range(groupSize, (i) => (i === 0 ? 0 : i === 1 ? n : (i * 7 + 3) % (n + 1)));
        const expectedWords = packStream(
          k.map((x) => n - x),
          bits,
        );
        for (const sign of [1, -1]) {
          // Two groups: the second with the levels reversed, to catch group-offset mistakes.
          const levels = [...k, ...[...k].reverse()];
          const values = levels.map((x) => sign * s * x);
          for (const { dtype, q } of quantizeAll(values, bits, groupSize)) {
            const words = [
              ...expectedWords,
              ...packStream(
                [...k].reverse().map((x) => n - x),
                bits,
              ),
            ];
            assert.deepEqual(hex(q.words), hex(words), `${dtype}, sign ${sign}`);
            assert.deepEqual([...q.scales], [-sign * s, -sign * s]);
            assert.deepEqual([...q.biases], [sign * n * s, sign * n * s]);
            assert.equal(q.words.length, (2 * groupSize * bits) / 32, 'g*b/32 words per group');
          }
        }
      });
    }
  }
});

describe('MLX affine quantizer: edge groups', () => {
  it('all zero: words 0, scale -1e-7 (bf16 b3d7, f16 8002), bias 0, for every width and group', () => {
    for (const bits of MLX_AFFINE_BITS) {
      for (const groupSize of MLX_AFFINE_GROUP_SIZES) {
        for (const { q } of quantizeAll(
          range(groupSize, () => 0),
          bits,
          groupSize,
        )) {
          assert.ok(q.words.every((w) => w === 0));
          assert.equal(f32Bits(q.scales[0]!), 0xb3d6bf95);
          assert.equal(q.biases[0], 0);
          assert.deepEqual([...encodeFloats(q.scales, 'BF16')], [0xb3d7]);
          assert.deepEqual([...encodeFloats(q.scales, 'F16')], [0x8002]);
        }
      }
    }
  });

  it('all negative, exact: -(16 + i%16) -> scale +1, bias -31, levels 15 - i%16', () => {
    // min -31, max -16: |min| > |max| -> scale = 15/15 = 1; edge -31, q0 = -31, scale = 1, bias = -31.
    for (const { q } of quantizeAll(
      range(32, (i) => -(16 + (i % 16))),
      4,
      32,
    )) {
      assert.deepEqual(hex(q.words), ['89abcdef', '01234567', '89abcdef', '01234567']);
      assert.deepEqual([q.scales[0], q.biases[0]], [1, -31]);
    }
  });

  it('all negative, q0 rounding moves the scale: [-10, -1, -5, -10...] at 2 bits', () => {
    // scale0 = 9/3 = 3 (mask: |-10| > |-1|); q0 = rint(-10/3) = -3 -> scale = fl32(10/3), bias = -10.
    // Levels: -10 -> 0; -1 -> 9/3.3333333 = 2.7 -> 3; -5 -> 5/3.3333333 = 1.5 (in float32) -> 2.
    const values = [-10, -1, -5, ...range(29, () => -10)];
    for (const { q } of quantizeAll(values, 2, 32)) {
      assert.equal(q.scales[0], Math.fround(10 / 3));
      assert.equal(q.biases[0], -10);
      assert.deepEqual(unpackStream(q.words, 2, 32), [0, 3, 2, ...range(29, () => 0)]);
      assert.deepEqual([...encodeFloats(q.scales, 'BF16'), ...encodeFloats(q.biases, 'BF16')], [0x4055, 0xc120]);
      assert.deepEqual([...encodeFloats(q.scales, 'F16'), ...encodeFloats(q.biases, 'F16')], [0x42ab, 0xc900]);
    }
  });

  it('ties in the levels round half to even', () => {
    // 0 and 15 present -> scale -1, bias 15, q = 15 - w: 12.5 -> 2.5 -> 2, 13.5 -> 1.5 -> 2,
    // 14.5 -> 0.5 -> 0, 11.5 -> 3.5 -> 4, 0.5 -> 14.5 -> 14, 9.5 -> 5.5 -> 6 (half away from zero
    // would give 3, 2, 1, 4, 15, 6).
    const values = [0, 15, 12.5, 13.5, 14.5, 11.5, 0.5, 9.5, ...range(24, () => 15)];
    const levels = [15, 0, 2, 2, 0, 4, 14, 6, ...range(24, () => 0)];
    for (const { dtype, q } of quantizeAll(values, 4, 32)) {
      assert.deepEqual(hex(q.words), hex(packStream(levels, 4)), dtype);
      assert.deepEqual([q.scales[0], q.biases[0]], [-1, 15]);
    }
  });

  it('a tie in q0 rounds half to even and sets the scale', () => {
    // max 5, min -1: scale0 = -(6/3) = -2, edge 5, q0 = rint(-2.5) = -2 (not -3) -> scale -2.5, bias 5.
    // Levels: 5 -> 0, -1 -> 2.4 -> 2, 1.25 -> 1.5 -> 2, 0 -> 2, 2.5 -> 1, 3.75 -> 0.5 -> 0.
    const values = [5, -1, 1.25, 0, 2.5, 3.75, ...range(26, () => 0)];
    for (const { q } of quantizeAll(values, 2, 32)) {
      assert.deepEqual(unpackStream(q.words, 2, 32), [0, 2, 2, 2, 1, 0, ...range(26, () => 2)]);
      assert.deepEqual([q.scales[0], q.biases[0]], [-2.5, 5]);
      assert.deepEqual([...encodeFloats(q.scales, 'BF16'), ...encodeFloats(q.biases, 'BF16')], [0xc020, 0x40a0]);
      assert.deepEqual([...encodeFloats(q.scales, 'F16'), ...encodeFloats(q.biases, 'F16')], [0xc100, 0x4500]);
    }
  });

  it('a single positive outlier: zeros and one 100 at 4 bits, group 64', () => {
    // scale0 = -fl32(100/15); q0 = rint(fl32(100 / scale0)) = -15; scale = fl32(100 / -15), bias 100;
    // zeros -> fl32(-100 / scale) = 15 -> 15; the outlier -> 0.
    const values = range(64, (i) => (i === 7 ? 100 : 0));
    for (const { q } of quantizeAll(values, 4, 64)) {
      assert.deepEqual(hex(q.words), ['0fffffff', ...range(7, () => 'ffffffff')]);
      assert.equal(q.scales[0], Math.fround(100 / -15));
      assert.equal(q.biases[0], 100);
      assert.deepEqual([...encodeFloats(q.scales, 'BF16'), ...encodeFloats(q.biases, 'BF16')], [0xc0d5, 0x42c8]);
      assert.deepEqual([...encodeFloats(q.scales, 'F16'), ...encodeFloats(q.biases, 'F16')], [0xc6ab, 0x5640]);
    }
  });

  it('a single negative outlier: 0.25 and one -50 at 3 bits', () => {
    // mask: scale0 = fl32(50.25/7); q0 = rint(-50 / scale0) = rint(-6.965) = -7; scale = fl32(50/7),
    // bias -50; 0.25 -> 50.25 / 7.142857 = 7.035 -> 7; -50 -> 0.
    const values = range(32, (i) => (i === 3 ? -50 : 0.25));
    for (const { q } of quantizeAll(values, 3, 32)) {
      assert.deepEqual(hex(q.words), ['fffff1ff', 'ffffffff', 'ffffffff']);
      assert.equal(q.scales[0], Math.fround(50 / 7));
      assert.equal(q.biases[0], -50);
    }
  });

  it('the far extreme can land past n and is clipped to n', () => {
    // max 1.0078125, min -0.9921875: scale0 = -fl32(2/3); q0 = rint(1.0078125 / -0.6666667) =
    // rint(-1.512) = -2 -> scale = -0.50390625, bias = 1.0078125. 0 -> 2 exactly; the minimum ->
    // 2 / 0.50390625 = 3.969 -> 4 -> clipped to n = 3 (an error of 0.488, almost |scale|).
    const values = [1.0078125, -0.9921875, ...range(30, () => 0)];
    for (const { q } of quantizeAll(values, 2, 32)) {
      assert.deepEqual(hex(q.words), ['aaaaaaac', 'aaaaaaaa']);
      assert.deepEqual([q.scales[0], q.biases[0]], [-0.50390625, 1.0078125]);
      assert.deepEqual([...encodeFloats(q.scales, 'BF16'), ...encodeFloats(q.biases, 'BF16')], [0xbf01, 0x3f81]);
      assert.deepEqual([...encodeFloats(q.scales, 'F16'), ...encodeFloats(q.biases, 'F16')], [0xb808, 0x3c08]);
    }
  });
});

describe('MLX affine quantizer: dequantization and error bound', () => {
  it('dequantizes scale*q + bias exactly for the note vectors', () => {
    for (const v of NOTE_VECTORS.slice(0, 7)) {
      const q = quantizeAffine(Float32Array.from(v.input), 'F32', v);
      assert.deepEqual(
        [...dequantizeAffine(q, v)],
        v.input.map((x) => x + 0),
        v.id,
      ); // + 0: -0 -> 0
    }
  });

  it("bounds |w - w'| per element on random bf16 weights after rounding scales/biases to bf16 and f16", () => {
    const src = randomBf16(128 * 64, 11);
    for (const bits of MLX_AFFINE_BITS) {
      for (const groupSize of MLX_AFFINE_GROUP_SIZES) {
        const raw = quantizeAffine(src, 'BF16', { bits, groupSize });
        for (const dtype of ['BF16', 'F16'] as const) {
          const q = roundScalesAndBiases(raw, dtype);
          const d = dequantizeAffine(q, { bits, groupSize });
          const levels = unpackStream(q.words, bits, src.length);
          const n = 2 ** bits - 1;
          let beyondHalf = 0;
          for (let i = 0; i < src.length; i++) {
            const g = Math.floor(i / groupSize);
            const w = bf16ToNumber(src[i]!);
            const err = Math.abs(w - d[i]!);
            assert.ok(
              err <= errorBound(levels[i]!, n, q.scales[g]!, q.biases[g]!, w, dtype),
              `${bits}/${groupSize}/${dtype} element ${i}: |w - w'| = ${err}`,
            );
            if (err > errorBound(levels[i]!, n, q.scales[g]!, q.biases[g]!, w, dtype, false)) {
              beyondHalf++;
              assert.equal(levels[i], n, 'only the clipped top level may exceed |scale|/2');
            }
          }
          assert.ok(beyondHalf < src.length / 4, `${beyondHalf} clipped elements`);
        }
      }
    }
  });
});

describe('MLX affine quantizer: argument checks and worker pool', () => {
  it('rejects unsupported widths, groups and partial groups', () => {
    assert.throws(() => quantizeAffine(new Float32Array(32), 'F32', { bits: 7, groupSize: 32 }), /bits 2, 3, 4, 5, 6, 8/);
    assert.throws(() => quantizeAffine(new Float32Array(32), 'F32', { bits: 4, groupSize: 16 }), /group sizes 32, 64, 128/);
    assert.throws(() => quantizeAffine(new Float32Array(48), 'F32', { bits: 4, groupSize: 32 }), /whole number of groups/);
    assert.throws(() => quantizeAffine(new Uint16Array(32), 'F32', { bits: 4, groupSize: 32 }), /does not match dtype/);
  });

  it('the worker pool gives the same bytes as the main thread', async () => {
    const src = randomBf16(64 * 1024, 5);
    const pool = new AffinePool(2);
    try {
      for (const p of [
        { bits: 4, groupSize: 64 },
        { bits: 3, groupSize: 32 },
        { bits: 6, groupSize: 128 },
      ]) {
        const main = quantizeAffine(src, 'BF16', p);
        const parts = await Promise.all([0, 1, 2, 3].map((k) => pool.quantize(src.subarray(k * 16384, (k + 1) * 16384), 'BF16', p)));
        assert.deepEqual(Buffer.concat(parts.map((r) => Buffer.from(r.words.buffer))), Buffer.from(main.words.buffer));
        assert.deepEqual(
          parts.flatMap((r) => [...r.scales]),
          [...main.scales],
        );
        assert.deepEqual(
          parts.flatMap((r) => [...r.biases]),
          [...main.biases],
        );
      }
      assert.equal(src.length, 64 * 1024, 'a copied (not transferred) source stays usable');
    } finally {
      await pool.close();
    }
    await assert.rejects(pool.quantize(src, 'BF16', { bits: 4, groupSize: 64 }), /closed/);
  });
});
