/**
 * stories260K: the HF folder converted to F32 must give every tensor bit-identical to the
 * reference GGUF (whose extra output.weight is a copy of token_embd: the HF folder ties them, so
 * the converter writes no output tensor, as llama.cpp's converter does), and the same greedy
 * continuation through node-llama-cpp.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { convertToGguf } from '../../../src/core/convert';
import { readGgufHeader, readGgufTensorBytes } from '../../../src/core/formats/gguf';
import { sharedAsset } from '../../helpers/env';
import { greedyContinuation } from './logits-harness';

test('stories260K-hf -> F32 GGUF: tensors bit-identical to stories260K.gguf, same greedy continuation', async (t) => {
  const hf = sharedAsset(t, 'models/stories260K-hf');
  const ref = sharedAsset(t, 'models/stories260K-gguf/stories260K.gguf');
  if (!hf || !ref) return;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pajamas-stories-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = path.join(dir, 'stories260K-f32.gguf');
  await convertToGguf(hf, { outPath: out, outType: 'f32' });

  const ours = await readGgufHeader(out);
  const theirs = await readGgufHeader(ref);
  const ourNames = ours.tensors.map((x) => x.name).sort();
  const theirNames = theirs.tensors
    .map((x) => x.name)
    .filter((n) => n !== 'output.weight')
    .sort();
  assert.deepEqual(ourNames, theirNames);
  const embd = await readGgufTensorBytes(
    theirs,
    theirs.tensors.find((x) => x.name === 'token_embd.weight')!,
  );
  assert.ok(
    embd.equals(
      await readGgufTensorBytes(
        theirs,
        theirs.tensors.find((x) => x.name === 'output.weight')!,
      ),
    ),
    'reference output.weight is a copy of token_embd',
  );
  for (const info of ours.tensors) {
    const other = theirs.tensors.find((x) => x.name === info.name)!;
    assert.equal(info.type, other.type, info.name);
    assert.deepEqual(info.shape, other.shape, info.name);
    const same = (await readGgufTensorBytes(ours, info)).equals(await readGgufTensorBytes(theirs, other));
    assert.ok(same, `${info.name} differs from the reference`);
  }
  for (const key of ['tokenizer.ggml.tokens', 'tokenizer.ggml.scores', 'tokenizer.ggml.token_type']) {
    assert.deepEqual(ours.metadata.get(key)!.value, theirs.metadata.get(key)!.value, key);
  }

  const prompt = 'Once upon a time';
  const want = await greedyContinuation(ref, prompt, 32);
  const got = await greedyContinuation(out, prompt, 32);
  assert.ok(want.length > 20, `reference continuation: ${JSON.stringify(want)}`);
  assert.equal(got, want);
});
