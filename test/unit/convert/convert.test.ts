import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { convertToGguf, planTensors } from '../../../src/core/convert';
import { CancelledError, FormatError } from '../../../src/core/errors';
import { bf16BitsToF16Bits, f16BitsToF32 } from '../../../src/core/formats/float';
import {
  ggufNumber,
  ggufString,
  ggufStringArray,
  readGgufHeader,
  readGgufTensorBytes,
  type GgufFile,
} from '../../../src/core/formats/gguf';
import { openSafetensorsModel } from '../../../src/core/formats/safetensors';
import type { Progress } from '../../../src/core/job';
import { buildTinyModel, type TinyArch, type TinyModelOptions } from '../../fixtures/models/tiny-models';

function tiny(t: TestContext, arch: TinyArch, opts: TinyModelOptions = {}) {
  const m = buildTinyModel(arch, opts);
  t.after(() => rmSync(m.dir, { recursive: true, force: true }));
  return m;
}

async function tensor(file: GgufFile, name: string): Promise<Buffer> {
  const info = file.tensors.find((x) => x.name === name);
  assert.ok(info, `no tensor ${name}`);
  return readGgufTensorBytes(file, info);
}

/** bf16 bits of stored fixture values (exact: the fixture stores bf16-rounded float32). */
function bf16Bits(values: Float32Array): Uint16Array {
  return Uint16Array.from(new Uint32Array(values.buffer, values.byteOffset, values.length), (x) => x >>> 16);
}

test('bf16 llama -> f16 GGUF: exact bf16->f16 values, rope-permuted Q/K rows, f32 norms, metadata', async (t) => {
  const m = tiny(t, 'llama', { dtype: 'BF16', shards: 3 });
  const out = path.join(m.dir, 'out.gguf');
  const progress: Progress[] = [];
  const r = await convertToGguf(m.dir, { outPath: out }, { onProgress: (p) => progress.push(p) });
  assert.equal(r.outType, 'f16');
  assert.equal(r.architecture, 'llama');
  const g = await readGgufHeader(out);
  assert.equal(r.bytes, statSync(out).size);
  assert.equal(ggufString(g, 'general.architecture'), 'llama');
  assert.equal(ggufNumber(g, 'general.file_type'), 1);
  assert.equal(ggufNumber(g, 'llama.block_count'), 2);
  assert.equal(ggufNumber(g, 'llama.attention.head_count_kv'), 2);
  assert.equal(ggufNumber(g, 'llama.rope.dimension_count'), 16);
  assert.equal(ggufNumber(g, 'llama.vocab_size'), 320);
  assert.equal(ggufString(g, 'tokenizer.ggml.model'), 'llama');
  assert.equal(ggufStringArray(g, 'tokenizer.ggml.tokens')!.length, 320);
  assert.equal(Math.fround(ggufNumber(g, 'general.sampling.temp')!), Math.fround(0.7));

  const embd = new Uint16Array((await tensor(g, 'token_embd.weight')).buffer.slice(0));
  const src = bf16Bits(m.weights.get('model.embed_tokens.weight')!.data);
  assert.equal(embd.length, src.length);
  for (let i = 0; i < src.length; i++) assert.equal(embd[i], bf16BitsToF16Bits(src[i]!));

  // attn_k: 2 KV heads of 16 rows; GGUF row (h*16 + 2i + j) is HF row (h*16 + j*8 + i).
  const k = new Uint16Array((await tensor(g, 'blk.1.attn_k.weight')).buffer.slice(0));
  const hfK = m.weights.get('model.layers.1.self_attn.k_proj.weight')!.data;
  for (const [h, i, j] of [
    [0, 0, 1],
    [1, 7, 0],
    [1, 3, 1],
  ] as const) {
    const ggufRow = h * 16 + 2 * i + j;
    const hfRow = h * 16 + j * 8 + i;
    for (let c = 0; c < 64; c++) assert.equal(f16BitsToF32(k[ggufRow * 64 + c]!), hfK[hfRow * 64 + c]);
  }
  const norm = g.tensors.find((x) => x.name === 'blk.0.ffn_norm.weight')!;
  assert.equal(norm.type, 'F32');
  assert.deepEqual(
    Array.from(new Float32Array((await tensor(g, 'blk.0.ffn_norm.weight')).buffer.slice(0))),
    Array.from(m.weights.get('model.layers.0.post_attention_layernorm.weight')!.data),
  );

  const total = g.tensors.reduce((n, x) => n + x.byteLength, 0);
  assert.equal(progress.at(-1)!.done, total);
  assert.ok(progress.every((p, i) => p.unit === 'bytes' && p.total === total && (i === 0 || p.done! >= progress[i - 1]!.done!)));
});

test('f32 output keeps every weight exactly; bf16 output of f32 weights rounds to nearest even', async (t) => {
  const m = tiny(t, 'qwen3_moe_fused', { dtype: 'F32' });
  const f32 = path.join(m.dir, 'f32.gguf');
  await convertToGguf(m.dir, { outPath: f32, outType: 'f32' });
  const g = await readGgufHeader(f32);
  const gu = m.weights.get('model.layers.0.mlp.experts.gate_up_proj')!.data;
  const up = new Float32Array((await tensor(g, 'blk.0.ffn_up_exps.weight')).buffer.slice(0));
  // expert 2's up half starts at row 2*64 + 32 of the fused [4, 64, 64] tensor.
  assert.deepEqual(
    Array.from(up.subarray(2 * 32 * 64, 2 * 32 * 64 + 64)),
    Array.from(gu.subarray((2 * 64 + 32) * 64, (2 * 64 + 32) * 64 + 64)),
  );
  const bf = path.join(m.dir, 'bf16.gguf');
  await convertToGguf(m.dir, { outPath: bf, outType: 'bf16' });
  const b = await readGgufHeader(bf);
  assert.equal(ggufNumber(b, 'general.file_type'), 32);
  assert.equal(b.tensors.find((x) => x.name === 'blk.0.ffn_gate_inp.weight')!.type, 'F32');
  const q = new Uint16Array((await tensor(b, 'blk.0.attn_q.weight')).buffer.slice(0));
  const hq = m.weights.get('model.layers.0.self_attn.q_proj.weight')!.data;
  const bits = new Uint32Array(hq.buffer, hq.byteOffset, hq.length);
  for (let i = 0; i < 200; i++) {
    const x = bits[i]!;
    assert.equal(q[i], (x + 0x7fff + ((x >>> 16) & 1)) >>> 16);
  }
});

test('gemma norms are stored as 1 + w in f32', async (t) => {
  const m = tiny(t, 'gemma2', { dtype: 'BF16' });
  const out = path.join(m.dir, 'out.gguf');
  await convertToGguf(m.dir, { outPath: out });
  const g = await readGgufHeader(out);
  const got = new Float32Array((await tensor(g, 'blk.1.post_ffw_norm.weight')).buffer.slice(0));
  const want = m.weights.get('model.layers.1.post_feedforward_layernorm.weight')!.data;
  assert.deepEqual(
    Array.from(got),
    Array.from(want, (w) => Math.fround(w + 1)),
  );
  assert.equal(ggufNumber(g, 'gemma2.attention.sliding_window'), 8);
  assert.equal(Math.fround(ggufNumber(g, 'gemma2.attn_logit_softcapping')!), 2);
  assert.equal(
    g.tensors.find((x) => x.name === 'output.weight'),
    undefined,
  );
});

function noPartials(dir: string): void {
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.endsWith('.partial')),
    [],
  );
}

test('a truncated safetensors file fails before writing and leaves no output', async (t) => {
  const m = tiny(t, 'llama', { dtype: 'BF16' });
  const st = path.join(m.dir, 'model.safetensors');
  truncateSync(st, statSync(st).size - 100);
  const out = path.join(m.dir, 'out.gguf');
  await assert.rejects(
    convertToGguf(m.dir, { outPath: out }),
    (e: unknown) => e instanceof FormatError && /model\.safetensors/.test(e.message),
  );
  assert.equal(existsSync(out), false);
  noPartials(m.dir);
});

test('a missing tokenizer fails before writing; an existing output file is left as it was', async (t) => {
  const m = tiny(t, 'llama');
  unlinkSync(path.join(m.dir, 'tokenizer.model'));
  const out = path.join(m.dir, 'out.gguf');
  writeFileSync(out, 'previous');
  await assert.rejects(convertToGguf(m.dir, { outPath: out }), (e: unknown) => e instanceof FormatError && /no tokenizer/.test(e.message));
  assert.equal(statSync(out).size, 'previous'.length);
  noPartials(m.dir);
});

test('cancelling mid-way throws CancelledError and removes the partial file', async (t) => {
  const m = tiny(t, 'mixtral', { dtype: 'BF16' });
  const out = path.join(m.dir, 'out.gguf');
  const controller = new AbortController();
  let seen = 0;
  await assert.rejects(
    convertToGguf(
      m.dir,
      { outPath: out },
      {
        signal: controller.signal,
        onProgress: () => {
          if (++seen === 2) controller.abort();
        },
      },
    ),
    CancelledError,
  );
  assert.equal(existsSync(out), false);
  noPartials(m.dir);
});

test('a checkpoint missing one expert is a FormatError naming the layer', async (t) => {
  const m = tiny(t, 'mixtral');
  const st = await openSafetensorsModel(m.dir);
  const tensors = new Map(st.tensors);
  tensors.delete('model.layers.1.block_sparse_moe.experts.2.w3.weight');
  assert.throws(
    () => planTensors(m.config as never, { ...st, tensors }, 'f16'),
    /layer 1 ffn_up_exps: .*4 experts but the checkpoint has 3 \(expert 2 missing\)/,
  );
});

test('vocab-only output: metadata and vocabulary, no tensors', async (t) => {
  const m = tiny(t, 'qwen3');
  unlinkSync(path.join(m.dir, 'model.safetensors'));
  const out = path.join(m.dir, 'vocab.gguf');
  await convertToGguf(m.dir, { outPath: out, vocabOnly: true });
  const g = await readGgufHeader(out);
  assert.equal(g.tensors.length, 0);
  assert.equal(ggufString(g, 'tokenizer.ggml.pre'), 'qwen2');
  assert.equal(ggufStringArray(g, 'tokenizer.ggml.merges')!.length > 0, true);
  assert.equal(ggufNumber(g, 'tokenizer.ggml.eos_token_id'), 319);
  assert.match(ggufString(g, 'tokenizer.chat_template')!, /messages/);
});
