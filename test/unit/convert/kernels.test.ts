import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bf16BitsToF16Bits, f16BitsToF32, f32ToBf16Bits } from '../../../src/core/formats/float';
import { bf16ToF16Fast, convertElements } from '../../../src/core/convert/kernels';
import { createWasmArena } from '../../../src/core/convert/wasm-kernel';

test('bf16 -> f16 fast path equals exact rounding for every bf16 value, in both lanes and an odd tail', () => {
  const n = 65536;
  const src = new Uint16Array(2 * n + 1);
  for (let i = 0; i < n; i++) {
    src[2 * i] = i; // low lane
    src[2 * i + 1] = (i * 40503) & 0xffff; // high lane, a permutation of all values
  }
  src[2 * n] = 0x3f80; // odd tail: 1.0
  const dst = new Uint16Array(src.length);
  bf16ToF16Fast(src, dst);
  for (let i = 0; i < src.length; i++) {
    const want = bf16BitsToF16Bits(src[i]!);
    if (dst[i] !== want) assert.fail(`bf16 0x${src[i]!.toString(16)} -> 0x${dst[i]!.toString(16)}, expected 0x${want.toString(16)}`);
  }
});

test('convertElements: every supported direction, and "no conversion" for equal types', () => {
  const values = [0, -0, 1, -2.5, 65504, 1e-7, 3.14159, -1e5];
  const f32 = new Uint8Array(new Float32Array(values).buffer);
  const scratch = () => new Float32Array(64);
  const f16 = new Uint8Array(values.length * 2);
  assert.equal(convertElements(f32, 'F32', f16, 'F16', values.length, scratch), true);
  const back = Array.from(new Uint16Array(f16.buffer), f16BitsToF32);
  assert.deepEqual(back.slice(0, 4), [0, -0, 1, -2.5]);
  assert.equal(back[4], 65504);
  assert.equal(back[7], -Infinity); // -1e5 overflows float16
  const bf16 = new Uint8Array(values.length * 2);
  assert.equal(convertElements(f16, 'F16', bf16, 'BF16', values.length, scratch), true);
  const bfBits = new Uint16Array(bf16.buffer);
  // f16 -> bf16 goes through the exact float32 value.
  for (let i = 0; i < values.length; i++) assert.equal(bfBits[i], f32ToBf16Bits(back[i]!));
  const f32Again = new Uint8Array(values.length * 4);
  assert.equal(convertElements(bf16, 'BF16', f32Again, 'F32', values.length, scratch), true);
  assert.equal(new Float32Array(f32Again.buffer)[2], 1);
  assert.equal(convertElements(f32, 'F32', f32Again, 'F32', values.length, scratch), false);
  const f64 = new Uint8Array(new Float64Array([1 / 3, 2]).buffer);
  const fromF64 = new Uint8Array(8);
  convertElements(f64, 'F64', fromF64, 'F32', 2, scratch);
  assert.deepEqual(Array.from(new Float32Array(fromF64.buffer)), [Math.fround(1 / 3), 2]);
});

test('WebAssembly SIMD bf16 -> f16 equals exact rounding for every bf16 value (vector and scalar paths)', (t) => {
  const arena = createWasmArena(1 << 20);
  if (!arena) {
    t.skip('this Node has no WebAssembly SIMD; the JavaScript kernel is used instead');
    return;
  }
  const n = 2 * 65536 + 7; // all values in order (mixed vectors), then a permutation, then a ragged tail
  const src = new Uint16Array(arena.sources[0].buffer, arena.sources[0].byteOffset, n);
  for (let i = 0; i < n; i++) src[i] = i < 65536 ? i : (i * 40503) & 0xffff;
  // A run of in-range values so whole vectors take the arithmetic path.
  for (let i = 1000; i < 1064; i++) src[i] = 0x3c00 + i;
  assert.equal(arena.bf16ToF16(arena.sources[0].subarray(0, 2 * n), arena.outputs[0].subarray(0, 2 * n), n), true);
  const dst = new Uint16Array(arena.outputs[0].buffer, arena.outputs[0].byteOffset, n);
  for (let i = 0; i < n; i++) {
    if (dst[i] !== bf16BitsToF16Bits(src[i]!)) assert.fail(`element ${i}: bf16 0x${src[i]!.toString(16)} -> 0x${dst[i]!.toString(16)}`);
  }
  // Buffers outside the arena are declined, so the caller uses the JavaScript kernel.
  assert.equal(arena.bf16ToF16(new Uint8Array(16), new Uint8Array(16), 8), false);
});
