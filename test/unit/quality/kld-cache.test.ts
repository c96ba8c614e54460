/**
 * The cache of baseline logits: keys change with every input that changes the file, and an entry
 * counts only when meta.json and a base file of exactly the right size are both there.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { type KldBaseRequest, KLD_CACHE_FORMAT, baselineIdentity, findKldBase, kldCacheKey } from '../../../src/core/quality/kld-cache';
import { kldBaseBytes } from '../../../src/core/quality/kld-base';
import { tempDir } from '../../fixtures/bytes';

const REQ: KldBaseRequest = {
  baselineId: `sha256:${'b'.repeat(64)}`,
  text: { name: 'wiki.raw', sha256: 'c'.repeat(64) },
  ctx: 16,
  nVocab: 11,
  chunks: 3,
  llamaCpp: 'v0.4.0@80fb11ac',
};

test('the key covers baseline, text, context, vocabulary, chunks and llama.cpp build (not the text name)', () => {
  const key = kldCacheKey(REQ);
  assert.match(key, /^[0-9a-f]{32}$/);
  const variants: Partial<KldBaseRequest>[] = [
    { baselineId: `sha256:${'d'.repeat(64)}` },
    { text: { name: 'wiki.raw', sha256: 'e'.repeat(64) } },
    { ctx: 32 },
    { nVocab: 12 },
    { chunks: 2 },
    { llamaCpp: 'v0.4.1@0000' },
  ];
  for (const v of variants) assert.notEqual(kldCacheKey({ ...REQ, ...v }), key, JSON.stringify(v));
  assert.equal(kldCacheKey({ ...REQ, text: { ...REQ.text, name: 'renamed.txt' } }), key);
});

test('baseline identity: the recorded sha256 when sizes agree, else path, size and mtime', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'f16.gguf');
  writeFileSync(file, Buffer.alloc(100));
  assert.equal(await baselineIdentity(file, { sha256: 'a'.repeat(64), sizeBytes: 100 }), `sha256:${'a'.repeat(64)}`);
  assert.equal(
    await baselineIdentity(null, { sha256: 'a'.repeat(64), sizeBytes: 100 }),
    `sha256:${'a'.repeat(64)}`,
    'deleted file: the record',
  );
  assert.match(await baselineIdentity(file, { sha256: 'a'.repeat(64), sizeBytes: 99 }), /^file:.*f16\.gguf:100:\d+$/);
  assert.match(await baselineIdentity(file), /^file:.*f16\.gguf:100:\d+$/);
  await assert.rejects(baselineIdentity(null), /does not exist/);
});

function writeEntry(cacheDir: string, baseBytes: number, meta: object | null): string {
  const dir = path.join(cacheDir, kldCacheKey(REQ));
  mkdirSync(dir, { recursive: true });
  const h = { nCtx: REQ.ctx, nVocab: REQ.nVocab, nChunk: REQ.chunks };
  const buf = Buffer.alloc(baseBytes);
  buf.write('_logits_', 0, 'latin1');
  buf.writeUInt32LE(h.nCtx, 8);
  buf.writeInt32LE(h.nVocab, 12);
  buf.writeInt32LE(h.nChunk, 16);
  writeFileSync(path.join(dir, 'base.bin'), buf);
  if (meta) writeFileSync(path.join(dir, 'meta.json'), JSON.stringify(meta));
  return dir;
}

const fullSize = kldBaseBytes({ nCtx: REQ.ctx, nVocab: REQ.nVocab, nChunk: REQ.chunks });
const meta = () => ({
  format: KLD_CACHE_FORMAT,
  key: kldCacheKey(REQ),
  request: REQ,
  header: {},
  bytes: fullSize,
  ppl: 12.5,
  pplSource: 'final-estimate',
  createdAt: '2026-11-26T10:00:00.000Z',
});

test('a complete entry is found and marked reused', async (t) => {
  const cache = tempDir(t);
  writeEntry(cache, fullSize, meta());
  const entry = await findKldBase(cache, REQ);
  assert.ok(entry);
  assert.equal(entry.reused, true);
  assert.equal(entry.meta.ppl, 12.5);
});

test('a base without meta.json (killed before it was written) is not an entry', async (t) => {
  const cache = tempDir(t);
  writeEntry(cache, fullSize, null);
  assert.equal(await findKldBase(cache, REQ), null);
});

test('a truncated base file is ignored, with a log line, even with meta.json', async (t) => {
  const cache = tempDir(t);
  writeEntry(cache, fullSize - 10, meta());
  const logs: string[] = [];
  assert.equal(await findKldBase(cache, REQ, (l) => logs.push(l)), null);
  assert.match(logs.join('\n'), /ignoring the cached KL-divergence base .*incomplete or corrupt/);
});

test('meta.json from another format version or key is not trusted', async (t) => {
  const cache = tempDir(t);
  writeEntry(cache, fullSize, { ...meta(), format: KLD_CACHE_FORMAT + 1 });
  assert.equal(await findKldBase(cache, REQ), null);
});
