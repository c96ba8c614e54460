/**
 * The readers and writers on real model files from ../shared: a GGUF written by llama.cpp's
 * converter and a safetensors checkpoint written by PyTorch.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  GgufValueType,
  ggufNumber,
  ggufString,
  ggufStringArray,
  readGgufHeader,
  readGgufTensorBytes,
} from '../../../src/core/formats/gguf';
import { GgufWriter } from '../../../src/core/formats/gguf-writer';
import { openSafetensorsModel, readSafetensorsHeader, readTensorBytes, readTensorFloat32 } from '../../../src/core/formats/safetensors';
import { SafetensorsWriter } from '../../../src/core/formats/safetensors-writer';
import { tempDir } from '../../fixtures/bytes';
import { sharedAsset } from '../../helpers/env';

describe('stories260K.gguf (written by llama.cpp)', () => {
  it('reads its header', async (t) => {
    const file = sharedAsset(t, 'models/stories260K-gguf/stories260K.gguf');
    if (!file) return;
    const g = await readGgufHeader(file);
    assert.equal(g.version, 3);
    assert.equal(g.alignment, 32);
    assert.equal(ggufString(g, 'general.architecture'), 'llama');
    assert.equal(ggufNumber(g, 'llama.embedding_length'), 64);
    assert.equal(ggufNumber(g, 'llama.block_count'), 5);
    assert.equal(ggufNumber(g, 'llama.attention.head_count_kv'), 4);
    assert.equal(ggufStringArray(g, 'tokenizer.ggml.tokens')!.length, 512);
    assert.equal(g.metadata.get('tokenizer.ggml.scores')!.type, GgufValueType.ARRAY);
    assert.equal(g.tensors.length, 48);
    const embd = g.tensors.find((x) => x.name === 'token_embd.weight')!;
    assert.deepEqual([embd.type, embd.shape, embd.byteLength], ['F32', [64, 512], 64 * 512 * 4]);
    const last = g.tensors.reduce((a, b) => (a.offset > b.offset ? a : b));
    assert.ok(g.dataOffset + last.offset + last.byteLength <= g.fileSize);
  });

  it('rewrites it byte for byte through the streaming writer', async (t) => {
    const file = sharedAsset(t, 'models/stories260K-gguf/stories260K.gguf');
    if (!file) return;
    const g = await readGgufHeader(file);
    const out = path.join(tempDir(t), 'copy.gguf');
    const w = new GgufWriter(out, { alignment: g.alignment });
    for (const [key, kv] of g.metadata) w.set(key, kv);
    for (const info of g.tensors) w.addTensor(info);
    await w.writeHeader();
    for (const info of g.tensors) await w.writeTensor(info.name, await readGgufTensorBytes(g, info));
    await w.finish();
    assert.ok(readFileSync(out).equals(readFileSync(file)), 'identical to the file llama.cpp wrote');
  });
});

describe('pajama-tiny-gqa model.safetensors (written by PyTorch)', () => {
  it('opens the model and reads BF16 tensors as float32', async (t) => {
    const dir = sharedAsset(t, 'models/pajama-tiny-gqa');
    if (!dir) return;
    const m = await openSafetensorsModel(dir);
    assert.equal(m.files.length, 1);
    assert.deepEqual(m.files[0]!.metadata, { format: 'pt' });
    // 6 layers x 9 tensors + embeddings, final norm and an untied lm_head.
    assert.equal(m.tensors.size, 6 * 9 + 3);
    const k = m.tensors.get('model.layers.0.self_attn.k_proj.weight')!;
    assert.deepEqual([k.dtype, k.shape, k.byteLength], ['BF16', [64, 256], 64 * 256 * 2]);
    const norm = await readTensorFloat32(m.tensors.get('model.layers.0.input_layernorm.weight')!);
    assert.equal(norm.length, 256);
    assert.ok(norm.every(Number.isFinite));
    const embed = await readTensorFloat32(m.tensors.get('model.embed_tokens.weight')!);
    assert.equal(embed.length, 512 * 256);
    const rms = Math.sqrt(embed.reduce((s, x) => s + x * x, 0) / embed.length);
    assert.ok(rms > 1e-3 && rms < 10, `embedding RMS ${rms} looks like trained weights`);
  });

  it('rewrites every tensor through the streaming writer unchanged', async (t) => {
    const dir = sharedAsset(t, 'models/pajama-tiny-gqa');
    if (!dir) return;
    const src = await readSafetensorsHeader(path.join(dir, 'model.safetensors'));
    const out = path.join(tempDir(t), 'model.safetensors');
    const w = await SafetensorsWriter.create(out, src.tensors, { metadata: src.metadata });
    for (const x of src.tensors) await w.writeTensor(x.name, await readTensorBytes(x));
    await w.finish();
    const copy = await readSafetensorsHeader(out);
    assert.deepEqual(copy.metadata, src.metadata);
    assert.deepEqual(
      copy.tensors.map((x) => [x.name, x.dtype, x.shape]),
      src.tensors.map((x) => [x.name, x.dtype, x.shape]),
    );
    for (const [i, x] of src.tensors.entries())
      assert.ok((await readTensorBytes(copy.tensors[i]!)).equals(await readTensorBytes(x)), x.name);
  });
});
