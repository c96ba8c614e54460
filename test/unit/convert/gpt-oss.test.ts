import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { convertToGguf, planTensors } from '../../../src/core/convert';
import { repackMxfp4Blocks } from '../../../src/core/convert/mxfp4';
import { rearrangeWords } from '../../../src/core/convert/rearrange';
import { FormatError, UnsupportedError } from '../../../src/core/errors';
import { ggufNumber, ggufString, readGgufHeader, readGgufTensorBytes } from '../../../src/core/formats/gguf';
import { openSafetensorsModel } from '../../../src/core/formats/safetensors';
import { buildSafetensors } from '../../fixtures/safetensors-builder';
import { buildTinyModel, type TinyArch, type TinyModelOptions } from '../../fixtures/models/tiny-models';

async function tiny(t: TestContext, arch: TinyArch, opts: TinyModelOptions = {}) {
  const m = buildTinyModel(arch, opts);
  t.after(() => rmSync(m.dir, { recursive: true, force: true }));
  return { ...m, st: await openSafetensorsModel(m.dir) };
}

test('MXFP4 repack: value j in the low nibble and j+16 in the high nibble of byte j, scale byte first', () => {
  // Checkpoint layout: values 2k and 2k+1 in the low and high nibbles of byte k; value i = i % 16 here.
  const codes = new Uint8Array(16).map((_, k) => ((2 * k) % 16) | (((2 * k + 1) % 16) << 4));
  const out = new Uint8Array(17);
  repackMxfp4Blocks(codes, new Uint8Array([0x7d]), 1, out);
  assert.equal(out[0], 0x7d);
  for (let j = 0; j < 16; j++) {
    assert.equal(out[1 + j]! & 0x0f, j % 16, `value ${j}`);
    assert.equal(out[1 + j]! >> 4, (j + 16) % 16, `value ${j + 16}`);
  }
});

test('rearrangeWords: picks every other column and transposes', () => {
  const src = Uint16Array.from({ length: 12 }, (_, i) => i); // 3 rows x 4
  const picked = new Uint16Array(6);
  rearrangeWords(src, picked, 3, 4, { start: 1, step: 2, count: 2 }, false);
  assert.deepEqual([...picked], [1, 3, 5, 7, 9, 11]);
  const transposed = new Uint16Array(6);
  rearrangeWords(src, transposed, 3, 4, { start: 0, step: 2, count: 2 }, true);
  assert.deepEqual([...transposed], [0, 4, 8, 2, 6, 10]);
});

test('gpt-oss MXFP4 checkpoint: GGUF names, shapes and types; experts kept MXFP4, biases split F32', async (t) => {
  const m = await tiny(t, 'gpt_oss', { dtype: 'BF16' });
  const plan = planTensors(m.config as never, m.st, 'f16');
  const byName = new Map(plan.recipes.map((r) => [r.name, r]));
  assert.equal(plan.spec.ggufArch, 'gpt-oss');
  const gate = byName.get('blk.2.ffn_gate_exps.weight')!;
  assert.equal(gate.type, 'MXFP4');
  assert.deepEqual(gate.shape, [64, 64, 4]);
  assert.equal(gate.sourceDtype, 'MXFP4');
  assert.deepEqual(gate.mxfp4 && [gate.mxfp4.firstRow, gate.mxfp4.rowStep, gate.mxfp4.rows], [0, 2, 64]);
  assert.deepEqual(byName.get('blk.2.ffn_up_exps.weight')!.mxfp4!.firstRow, 1);
  assert.deepEqual(byName.get('blk.2.ffn_down_exps.weight')!.shape, [64, 64, 4]);
  const upBias = byName.get('blk.0.ffn_up_exps.bias')!;
  assert.deepEqual([upBias.type, upBias.shape, upBias.transform.pick], ['F32', [64, 4], { start: 1, step: 2, count: 64 }]);
  assert.deepEqual(byName.get('blk.1.attn_sinks.weight')!.shape, [4]);
  assert.equal(byName.get('blk.1.attn_sinks.weight')!.type, 'F32');
  assert.equal(byName.get('blk.1.post_attention_norm.weight')!.hfName, 'model.layers.1.post_attention_layernorm.weight');
  assert.equal(byName.get('blk.1.ffn_gate_inp.bias')!.type, 'F32');
  assert.equal(byName.get('blk.0.attn_q.weight')!.transform.ropeHeads, undefined);
  assert.equal(byName.get('blk.0.attn_output.bias')!.type, 'F32');
  // Per layer: 4 attention weights, 4 attention biases, sinks, 2 norms, router + bias, 3 experts + 3 biases.
  assert.equal(plan.recipes.length, 3 + 4 * 19);
});

test('gpt-oss dense (bf16) experts: transposed, gate/up columns split', async (t) => {
  const m = await tiny(t, 'gpt_oss_bf16', { dtype: 'BF16' });
  const plan = planTensors(m.config as never, m.st, 'f16');
  const up = plan.recipes.find((r) => r.name === 'blk.0.ffn_up_exps.weight')!;
  assert.equal(up.type, 'F16');
  assert.deepEqual(up.transform, { pick: { start: 1, step: 2, count: 64 }, transpose: true });
  assert.equal(up.segments.length, 4);
  const out = path.join(m.dir, 'out.gguf');
  await convertToGguf(m.dir, { outPath: out, outType: 'f32' });
  const g = await readGgufHeader(out);
  const info = g.tensors.find((x) => x.name === 'blk.0.ffn_up_exps.weight')!;
  const got = new Float32Array((await readGgufTensorBytes(g, info)).buffer.slice(0));
  // GGUF [H, ff, E] = row-major [E][ff][H]; checkpoint gate_up_proj [E][H][2ff], up = odd columns.
  const src = m.weights.get('model.layers.0.mlp.experts.gate_up_proj')!.data;
  for (const [e, j, h] of [
    [0, 0, 0],
    [3, 63, 5],
    [2, 17, 40],
  ] as const) {
    assert.equal(got[(e * 64 + j) * 64 + h], src[(e * 64 + h) * 128 + 2 * j + 1], `expert ${e} unit ${j} input ${h}`);
  }
});

test('gpt-oss metadata: sliding window, expert width, YaRN, no pattern key at the default period', async (t) => {
  const m = await tiny(t, 'gpt_oss');
  const out = path.join(m.dir, 'out.gguf');
  await convertToGguf(m.dir, { outPath: out, outType: 'f16' });
  const g = await readGgufHeader(out);
  assert.equal(ggufString(g, 'general.architecture'), 'gpt-oss');
  assert.equal(ggufNumber(g, 'gpt-oss.attention.sliding_window'), 4);
  assert.equal(ggufNumber(g, 'gpt-oss.expert_feed_forward_length'), 64);
  assert.equal(ggufNumber(g, 'gpt-oss.expert_count'), 4);
  assert.equal(ggufNumber(g, 'gpt-oss.expert_used_count'), 2);
  assert.equal(ggufNumber(g, 'gpt-oss.attention.key_length'), 16);
  assert.equal(ggufNumber(g, 'gpt-oss.rope.freq_base'), 150000);
  assert.equal(ggufString(g, 'gpt-oss.rope.scaling.type'), 'yarn');
  assert.equal(ggufNumber(g, 'gpt-oss.rope.scaling.factor'), 32);
  assert.equal(ggufNumber(g, 'gpt-oss.rope.scaling.original_context_length'), 4096);
  assert.equal(g.metadata.has('gpt-oss.attention.sliding_window_pattern'), false);
});

test('gpt-oss layer_types: another period is written; an irregular one, or one without a sliding layer, is refused', async (t) => {
  const m = await tiny(t, 'gpt_oss');
  const types = ['sliding_attention', 'full_attention', 'full_attention', 'sliding_attention'];
  assert.throws(
    () => planTensors({ ...m.config, layer_types: types } as never, m.st, 'f16'),
    (e: unknown) => e instanceof UnsupportedError && /do not repeat/.test(e.message),
  );
  assert.throws(() => planTensors({ ...m.config, sliding_window: null } as never, m.st, 'f16'), /sliding_window/);
  // llama.cpp's gpt-oss aborts (GGML_ASSERT is_swa_any) without a sliding layer.
  const full = ['full_attention', 'full_attention', 'full_attention', 'full_attention'];
  assert.throws(() => planTensors({ ...m.config, layer_types: full } as never, m.st, 'f16'), /no sliding_attention layer/);
  const out = path.join(m.dir, 'out.gguf');
  for (const [layerTypes, period] of [
    [['sliding_attention', 'sliding_attention', 'full_attention', 'sliding_attention'], 3],
    [['sliding_attention', 'sliding_attention', 'sliding_attention', 'sliding_attention'], 0],
  ] as const) {
    writeFileSync(path.join(m.dir, 'config.json'), JSON.stringify({ ...m.config, layer_types: layerTypes }));
    await convertToGguf(m.dir, { outPath: out });
    assert.equal(ggufNumber(await readGgufHeader(out), 'gpt-oss.attention.sliding_window_pattern'), period);
    rmSync(out);
  }
});

/** Rewrites the model's safetensors with one tensor replaced (or removed when `replace` is null). */
function rewrite(dir: string, tensors: Map<string, { dtype: string; shape: number[]; data: Uint8Array }>) {
  writeFileSync(path.join(dir, 'model.safetensors'), buildSafetensors([...tensors].map(([name, x]) => ({ name, ...x }))));
}

async function tensorsOf(dir: string) {
  const st = await openSafetensorsModel(dir);
  const file = readFileSync(path.join(dir, 'model.safetensors'));
  const map = new Map<string, { dtype: string; shape: number[]; data: Uint8Array }>();
  for (const x of st.tensors.values())
    map.set(x.name, { dtype: x.dtype, shape: [...x.shape], data: file.subarray(x.dataOffset, x.dataOffset + x.byteLength) });
  return map;
}

test('malformed gpt-oss experts: FormatErrors that name the tensor and what was expected', async (t) => {
  const m = await tiny(t, 'gpt_oss');
  const blocks = 'model.layers.1.mlp.experts.down_proj_blocks';
  const scales = 'model.layers.1.mlp.experts.down_proj_scales';
  const original = await tensorsOf(m.dir);
  const attempt = async (change: (x: typeof original) => void, pattern: RegExp) => {
    const copy = new Map(original);
    change(copy);
    rewrite(m.dir, copy);
    const st = await openSafetensorsModel(m.dir);
    assert.throws(
      () => planTensors(m.config as never, st, 'f16'),
      (e: unknown) => e instanceof FormatError && pattern.test(e.message),
    );
  };
  await attempt((x) => x.delete(scales), /layer 1: .*no down_proj_scales/);
  await attempt((x) => x.set(blocks, { ...x.get(blocks)!, dtype: 'I8' }), /down_proj_blocks is I8; MXFP4 blocks and scales are U8/);
  await attempt(
    (x) => x.set(scales, { ...x.get(scales)!, shape: [4, 32, 4], data: x.get(scales)!.data.subarray(0, 4 * 32 * 4) }),
    /down_proj_scales has shape \[4, 32, 4\]/,
  );
  await attempt(
    (x) => x.set('model.layers.1.mlp.experts.down_proj', { dtype: 'F32', shape: [4, 64, 64], data: new Uint8Array(4 * 64 * 64 * 4) }),
    /both as MXFP4 blocks and as plain matrices/,
  );
  await attempt((x) => x.delete('model.layers.2.mlp.experts.gate_up_proj_bias'), /no gate_up_proj_bias/);
  rewrite(m.dir, original);
});
