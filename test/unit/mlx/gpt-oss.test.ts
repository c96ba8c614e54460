/**
 * gpt-oss in MLX: experts copied into MLX's mxfp4 mode (layout from MLX's source, docs/mlx-mxfp4.md),
 * the rest quantized by the policy, and the way back to the checkpoint's MXFP4 tensors for
 * evaluation. Vectors follow MLX's rules: 8 codes per uint32, code i of a word in bits 4i..4i+3;
 * value = E2M1(code) * 2^(scale - 127).
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { convertToGguf } from '../../../src/core/convert';
import { readGgufHeader, readGgufTensorBytes } from '../../../src/core/formats/gguf';
import { openSafetensorsModel, readTensorBytes } from '../../../src/core/formats/safetensors';
import { dequantizeMlxModel } from '../../../src/core/mlx/dequantize';
import { mlxPolicyFromPlan, naiveMlxPolicy } from '../../../src/core/mlx/policy';
import { writeMlxModel } from '../../../src/core/mlx/writer';
import { planModel } from '../../../src/core/plan/load';
import { decodeE2M1, decodeE8M0, dequantizeMxfp4 } from '../../fixtures/models/reference-gpt-oss';
import { buildTinyModel, type TinyModel } from '../../fixtures/models/tiny-models';

function tiny(t: TestContext): TinyModel {
  const m = buildTinyModel('gpt_oss', { dtype: 'BF16', seed: 9 });
  t.after(() => rmSync(m.dir, { recursive: true, force: true }));
  return m;
}

/** MLX's mxfp4 decode of one row: word w, code i in bits 4i; group g's scale byte. */
function decodeMlxRow(words: Uint32Array, scales: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < words.length * 8; i++) {
    const code = (words[i >> 3]! >>> (4 * (i & 7))) & 0xf;
    out.push(decodeE2M1(code) * decodeE8M0(scales[i >> 5]!));
  }
  return out;
}

test('MLX mxfp4 packing vector: codes 0..15 twice -> words 0x76543210 0xfedcba98 (x2)', () => {
  // A checkpoint block whose value i has code i % 16: byte k = (2k % 16) | ((2k + 1) % 16) << 4.
  const block = Uint8Array.from({ length: 16 }, (_, k) => ((2 * k) % 16) | (((2 * k + 1) % 16) << 4));
  const words = new Uint32Array(block.buffer);
  assert.deepEqual(
    [...words].map((w) => w.toString(16)),
    ['76543210', 'fedcba98', '76543210', 'fedcba98'],
  );
  const values = decodeMlxRow(words, Uint8Array.of(127));
  assert.deepEqual(values.slice(0, 16), [0, 0.5, 1, 1.5, 2, 3, 4, 6, -0, -0.5, -1, -1.5, -2, -3, -4, -6]);
});

test('gpt-oss MXFP4 checkpoint -> MLX: experts copied in mxfp4 mode, values equal to the checkpoint, config per module', async (t) => {
  const m = tiny(t);
  const out = path.join(m.dir, 'mlx');
  const { plan } = await planModel(m.dir, { target: 'Q4_K_M', strategy: 'pajamas', mlxBits: 4, mlxGroupSize: 32 });
  const result = await writeMlxModel(m.dir, out, mlxPolicyFromPlan(plan), { threads: 1 });
  const config = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'));
  assert.deepEqual(config.quantization['model.layers.2.mlp.experts.up_proj'], { bits: 4, group_size: 32, mode: 'mxfp4' });
  assert.deepEqual(config.quantization_config, config.quantization);
  assert.equal(config.quantization.mode, 'affine');
  assert.ok(result.weights.some((w) => w.modulePath === 'model.layers.0.self_attn.q_proj' && w.quant?.mode !== 'mxfp4'));

  const mlx = await openSafetensorsModel(out);
  const weight = mlx.tensors.get('model.layers.2.mlp.experts.up_proj.weight')!;
  const scales = mlx.tensors.get('model.layers.2.mlp.experts.up_proj.scales')!;
  assert.deepEqual([weight.dtype, weight.shape, scales.dtype, scales.shape], ['U32', [4, 64, 8], 'U8', [4, 64, 2]]);
  assert.equal(mlx.tensors.has('model.layers.2.mlp.experts.up_proj.biases'), false, 'mxfp4 has no quantization biases');
  const words = new Uint32Array((await readTensorBytes(weight)).buffer.slice(0));
  const scaleBytes = new Uint8Array(await readTensorBytes(scales));
  const want = dequantizeMxfp4(
    m.weights.get('model.layers.2.mlp.experts.gate_up_proj_blocks')!,
    m.weights.get('model.layers.2.mlp.experts.gate_up_proj_scales')!,
  );
  for (const [e, r] of [
    [0, 0],
    [3, 63],
    [1, 17],
  ] as const) {
    const row = (e * 64 + r) * 8;
    const got = decodeMlxRow(words.subarray(row, row + 8), scaleBytes.subarray((e * 64 + r) * 2, (e * 64 + r + 1) * 2));
    const upRow = e * 128 + 2 * r + 1; // up = odd rows of gate_up
    assert.deepEqual(got, [...want.data.subarray(upRow * 64, (upRow + 1) * 64)], `expert ${e} row ${r}`);
  }
  const bias = mlx.tensors.get('model.layers.2.mlp.experts.up_proj.bias')!;
  assert.deepEqual([bias.dtype, bias.shape], ['BF16', [4, 64]]);
  assert.ok(mlx.tensors.has('model.layers.2.self_attn.sinks'));
});

test('gpt-oss MLX -> checkpoint tensors -> GGUF: the experts are the original MXFP4 bytes', async (t) => {
  const m = tiny(t);
  const out = path.join(m.dir, 'mlx');
  await writeMlxModel(m.dir, out, naiveMlxPolicy({ bits: 4, groupSize: 32 }), { threads: 1 });
  const back = path.join(m.dir, 'back');
  await dequantizeMlxModel(out, back);
  const original = path.join(m.dir, 'original.gguf');
  const roundTrip = path.join(m.dir, 'round-trip.gguf');
  await convertToGguf(m.dir, { outPath: original });
  await convertToGguf(back, { outPath: roundTrip });
  const a = await readGgufHeader(original);
  const b = await readGgufHeader(roundTrip);
  for (const info of a.tensors.filter((x) => /_exps\./.test(x.name))) {
    const other = b.tensors.find((x) => x.name === info.name)!;
    assert.equal(other.type, info.type, info.name);
    const same = (await readGgufTensorBytes(a, info)).equals(await readGgufTensorBytes(b, other));
    // Expert weights are copied bit for bit; biases went through the model's bf16 (as stored).
    assert.ok(same, `${info.name} differs after MLX and back`);
  }
});
