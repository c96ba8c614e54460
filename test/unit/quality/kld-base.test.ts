/**
 * The KL-divergence base file: its exact size (the disk estimate depends on it), completeness
 * checks, and the baseline perplexity recomputed from it. Sizes are checked against files the
 * real tool wrote (1056724 and 393188 bytes, see fixtures/README.md).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { FormatError } from '../../../src/core/errors';
import {
  type KldBaseHeader,
  checkKldBaseFile,
  kldBaseBytes,
  kldBaseBytesPerChunk,
  pplFromKldBase,
  readKldBaseHeader,
  rowSlots,
  scoredTokensPerChunk,
} from '../../../src/core/quality/kld-base';
import { tempDir } from '../../fixtures/bytes';

test('base file sizes equal what llama-perplexity wrote', () => {
  // stories260K (512 tokens), -c 256 --chunks 8 and -c 128 --chunks 6.
  assert.equal(kldBaseBytes({ nCtx: 256, nVocab: 512, nChunk: 8 }), 1056724);
  assert.equal(kldBaseBytes({ nCtx: 128, nVocab: 512, nChunk: 6 }), 393188);
});

test('layout arithmetic: scored half of each chunk, vocabulary rounded to even plus four slots', () => {
  assert.equal(scoredTokensPerChunk(512), 255);
  assert.equal(scoredTokensPerChunk(7), 3);
  assert.equal(rowSlots(32000), 32004);
  assert.equal(rowSlots(151937), 151942);
  const h = { nCtx: 512, nVocab: 32000, nChunk: 10 };
  assert.equal(kldBaseBytes(h) - kldBaseBytes({ ...h, nChunk: 9 }), kldBaseBytesPerChunk(512, 32000));
  // ~13k tokens x 32k vocabulary: about 423 MB, as the notes measured.
  const mb = kldBaseBytes({ nCtx: 512, nVocab: 32000, nChunk: 26 }) / 1e6;
  assert.ok(mb > 400 && mb < 440, `${mb} MB`);
});

/** A base file with known log-probabilities: in chunk c every scored token has log p = -(c + 1) / 10. */
function syntheticBase(h: KldBaseHeader): Buffer {
  const buf = Buffer.alloc(kldBaseBytes(h));
  buf.write('_logits_', 0, 'latin1');
  buf.writeUInt32LE(h.nCtx, 8);
  buf.writeInt32LE(h.nVocab, 12);
  buf.writeInt32LE(h.nChunk, 16);
  let o = 20;
  for (let i = 0; i < h.nChunk * h.nCtx; i++, o += 4) buf.writeInt32LE(i % h.nVocab, o);
  const slots = rowSlots(h.nVocab);
  for (let c = 0; c < h.nChunk; c++) {
    for (let i = 0; i < scoredTokensPerChunk(h.nCtx); i++, o += slots * 2) {
      // Every q stays 0, so each token's log-probability is the row's minimum.
      buf.writeFloatLE(0.001, o);
      buf.writeFloatLE(-(c + 1) / 10, o + 4);
    }
  }
  assert.equal(o, buf.length);
  return buf;
}

test('a complete file passes the checks; its header reads back', async (t) => {
  const h = { nCtx: 16, nVocab: 11, nChunk: 3 };
  const file = path.join(tempDir(t), 'base.bin');
  writeFileSync(file, syntheticBase(h));
  assert.deepEqual(await readKldBaseHeader(file), h);
  assert.deepEqual(await checkKldBaseFile(file, h), h);
});

test('a truncated, padded or mislabelled file is rejected', async (t) => {
  const h = { nCtx: 16, nVocab: 11, nChunk: 3 };
  const dir = tempDir(t);
  const bytes = syntheticBase(h);
  const cases: [string, Buffer, RegExp][] = [
    ['truncated', bytes.subarray(0, bytes.length - 1), /incomplete or corrupt/],
    ['padded', Buffer.concat([bytes, Buffer.alloc(2)]), /incomplete or corrupt/],
    ['magic', Buffer.concat([Buffer.from('_logitz_'), bytes.subarray(8)]), /not a llama-perplexity/],
    ['empty', Buffer.alloc(0), /not a llama-perplexity/],
  ];
  for (const [name, data, message] of cases) {
    const file = path.join(dir, `${name}.bin`);
    writeFileSync(file, data);
    await assert.rejects(checkKldBaseFile(file), (e: unknown) => e instanceof FormatError && message.test(e.message), name);
  }
  const file = path.join(dir, 'ok.bin');
  writeFileSync(file, bytes);
  await assert.rejects(checkKldBaseFile(file, { nChunk: 4 }), /nChunk 3, expected 4/);
});

test('the baseline perplexity is recomputed from the stored log-probabilities', async (t) => {
  const h = { nCtx: 16, nVocab: 11, nChunk: 3 };
  const file = path.join(tempDir(t), 'base.bin');
  writeFileSync(file, syntheticBase(h));
  // Mean of -(log p) over chunks with log p = -0.1, -0.2, -0.3 (each chunk scores the same count).
  const expected = Math.exp((0.1 + 0.2 + 0.3) / 3);
  assert.ok(Math.abs((await pplFromKldBase(file)) - expected) < 1e-6);
});
