/**
 * gpt-oss through the converter and llama.cpp. The released checkpoints keep their experts in
 * MXFP4; the GGUF keeps them MXFP4 too (repacked, not dequantized). llama.cpp multiplies MXFP4
 * weights with activations it first rounds to Q8_0, so its logits on such a file cannot match an
 * exact forward pass to float32 rounding. The proof is therefore in three parts:
 * 1. the GGUF's MXFP4 experts decode, by ggml's block layout, to exactly the values the reference
 *    forward pass decodes from the checkpoint (OCP rules, test/fixtures/models/reference-gpt-oss.ts);
 * 2. every other tensor is byte-identical to the GGUF of a "twin" checkpoint holding the same experts
 *    dequantized, whose llama.cpp logits match the reference to float32 rounding (attention with
 *    sinks and biases, alternating sliding/full layers with a window shorter than the context,
 *    YaRN, router bias, top-k-then-softmax, the clamped SwiGLU);
 * 3. llama.cpp's logits on the MXFP4 file stay within the activation rounding of the twin's.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { convertToGguf } from '../../../src/core/convert';
import { ggufString, readGgufHeader, readGgufTensorBytes, type GgufFile } from '../../../src/core/formats/gguf';
import { logSoftmax, referenceLogits } from '../../fixtures/models/reference-forward';
import { decodeE2M1, decodeE8M0, dequantizeMxfp4 } from '../../fixtures/models/reference-gpt-oss';
import { dequantizedTwin } from '../../fixtures/models/tiny-gpt-oss';
import { buildTinyModel, type TinyModel } from '../../fixtures/models/tiny-models';
import { llamaLogProbs, maxLogProbDiff } from './logits-harness';

const IDS = [...Array(24).keys()].map((i) => (i * 37 + 5) % 320);
/** float32 rounding, as for the other architectures' F32 files. */
const EXACT = 2e-5;
/** llama.cpp's Q8_0 activations against MXFP4 weights: ~0.04 per position seen on these fixtures. */
const ACTIVATION_ROUNDING = 0.15;

function worstDiff(want: Float64Array[], got: Float64Array[]): number[] {
  return want.map((w, i) => maxLogProbDiff(w, got[i]!));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Decodes a ggml MXFP4 tensor [cols, rows, E] (block: scale byte, then value j low / j+16 high nibble of byte j). */
function decodeGgmlMxfp4(bytes: Uint8Array, count: number): Float64Array {
  const out = new Float64Array(count);
  for (let b = 0; b < count / 32; b++) {
    const scale = decodeE8M0(bytes[b * 17]!);
    for (let j = 0; j < 16; j++) {
      const q = bytes[b * 17 + 1 + j]!;
      out[b * 32 + j] = decodeE2M1(q & 0x0f) * scale;
      out[b * 32 + j + 16] = decodeE2M1(q >> 4) * scale;
    }
  }
  return out;
}

async function tensorBytes(file: GgufFile, name: string): Promise<Buffer> {
  const info = file.tensors.find((t) => t.name === name);
  assert.ok(info, `${name} is missing from ${file.path}`);
  return readGgufTensorBytes(file, info);
}

const MXFP4_CHECK =
  'gpt-oss MXFP4 checkpoint: experts repacked exactly, the rest equal to the dequantized twin, whose logits match the reference';
test(MXFP4_CHECK, async (t) => {
  const model = buildTinyModel('gpt_oss', { seed: 7 });
  t.after(() => rmSync(model.dir, { recursive: true, force: true }));
  const twin = dequantizedTwin(model, dequantizeMxfp4, path.join(model.dir, 'twin'));
  const mxPath = path.join(model.dir, 'mxfp4.gguf');
  const densePath = path.join(twin.dir, 'dense.gguf');
  await convertToGguf(model.dir, { outPath: mxPath, outType: 'f32' });
  await convertToGguf(twin.dir, { outPath: densePath, outType: 'f32' });

  const mx = await readGgufHeader(mxPath);
  const dense = await readGgufHeader(densePath);
  assert.deepEqual(mx.tensors.map((x) => x.name).sort(), dense.tensors.map((x) => x.name).sort());
  let experts = 0;
  for (const info of mx.tensors) {
    const twinInfo = dense.tensors.find((x) => x.name === info.name)!;
    assert.deepEqual(info.shape, twinInfo.shape, info.name);
    const bytes = await tensorBytes(mx, info.name);
    if (info.type !== 'MXFP4') {
      assert.ok((await tensorBytes(dense, info.name)).equals(bytes), `${info.name} differs from the twin's`);
      continue;
    }
    experts++;
    assert.equal(twinInfo.type, 'F32');
    const want = await tensorBytes(dense, info.name);
    const values = new Float32Array(want.buffer, want.byteOffset, want.byteLength / 4);
    const decoded = decodeGgmlMxfp4(bytes, values.length);
    const wrong = values.findIndex((v, i) => v !== decoded[i]);
    assert.equal(wrong, -1, `${info.name}: element ${wrong} decodes to ${decoded[wrong]}, the checkpoint holds ${values[wrong]}`);
  }
  assert.equal(experts, 3 * 4, 'gate, up and down experts of 4 layers are MXFP4');

  const want = referenceLogits(model, IDS).map(logSoftmax);
  const exact = worstDiff(want, await llamaLogProbs(densePath, IDS));
  const spread = Math.max(...want.at(-1)!) - Math.min(...want.at(-1)!);
  assert.ok(spread > 0.5, `reference distribution is nearly flat (spread ${spread})`);
  assert.ok(Math.max(...exact) <= EXACT, `dequantized twin: log-probabilities differ by ${Math.max(...exact)}`);

  const rounded = worstDiff(want, await llamaLogProbs(mxPath, IDS));
  t.diagnostic(
    `twin max |dlogp| ${Math.max(...exact).toExponential(2)}; ` +
      `MXFP4 file median ${median(rounded).toFixed(3)}, max ${Math.max(...rounded).toFixed(3)}`,
  );
  assert.ok(median(rounded) <= ACTIVATION_ROUNDING, `MXFP4 file: median per-position |dlogp| ${median(rounded)}`);
});

async function checkDense(t: { after(fn: () => void): void }, model: TinyModel, outType: 'f32' | 'f16') {
  t.after(() => rmSync(model.dir, { recursive: true, force: true }));
  const out = path.join(model.dir, `model-${outType}.gguf`);
  const result = await convertToGguf(model.dir, { outPath: out, outType });
  const diffs = worstDiff(referenceLogits(model, IDS).map(logSoftmax), await llamaLogProbs(out, IDS));
  return { result, worst: Math.max(...diffs), out };
}

test('gpt-oss with rope_scaling.truncate false (as released): the converter warns, and llama.cpp does differ', async (t) => {
  const config = {
    rope_scaling: { rope_type: 'yarn', factor: 32, beta_fast: 32, beta_slow: 1, original_max_position_embeddings: 4096, truncate: false },
  };
  const model = buildTinyModel('gpt_oss_bf16', { seed: 11, config });
  const { result, worst } = await checkDense(t, model, 'f32');
  assert.ok(
    result.warnings.some((w) => /truncate is false/.test(w)),
    `warnings: ${result.warnings.join('; ')}`,
  );
  // The correction range of these dims is [2.02, 4.35] untruncated and [2, 5] truncated.
  assert.ok(worst > EXACT, `llama.cpp unexpectedly matches the untruncated YaRN (${worst})`);
});

test('gpt-oss architecture with a SentencePiece tokenizer.model converts: the tokenizer follows the files', async (t) => {
  const model = buildTinyModel('gpt_oss_bf16', { seed: 3, tokenizer: 'spm', config: { bos_token_id: 1, eos_token_id: 2 } });
  const { worst, out } = await checkDense(t, model, 'f32');
  const g = await readGgufHeader(out);
  assert.equal(ggufString(g, 'general.architecture'), 'gpt-oss');
  assert.equal(ggufString(g, 'tokenizer.ggml.model'), 'llama');
  assert.ok(worst <= EXACT, `log-probabilities differ by ${worst}`);
});
