/**
 * Capping the KL-divergence base to the disk: with a fake statfs, the chunk count shrinks to what
 * fits, the reason names the numbers, and nothing fits -> a clear failure before any work.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FailureError, UsageError } from '../../../src/core/errors';
import { freeBytes, type StatFs } from '../../../src/core/quality/baseline';
import { kldBaseBytes, kldBaseBytesPerChunk } from '../../../src/core/quality/kld-base';
import { KLD_DISK_RESERVE_BYTES, KLD_DISK_SHARE, availableChunks, planBaseChunks } from '../../../src/core/quality/kld-cap';

const GiB = 1024 ** 3;
const fakeStatfs =
  (free: number): StatFs =>
  async () => ({ bavail: BigInt(free / 4096), bsize: 4096 });

test('freeBytes multiplies available blocks by block size (bigint or number)', async () => {
  assert.equal(await freeBytes(fakeStatfs(8 * GiB), '/x'), 8 * GiB);
  assert.equal(await freeBytes(async () => ({ bavail: 10, bsize: 512 }), '/x'), 5120);
});

test('with ample disk every wanted chunk is kept and nothing is said', () => {
  const plan = planBaseChunks({ tokenCount: 20_000, ctx: 512, nVocab: 32_000, freeBytes: 500 * GiB, dir: '/cache' });
  assert.equal(plan.availableChunks, 39);
  assert.equal(plan.chunks, 39);
  assert.equal(plan.capReason, null);
  assert.equal(plan.bytes, kldBaseBytes({ nCtx: 512, nVocab: 32_000, nChunk: 39 }));
});

test('--chunks lowers the wanted count without a cap reason', () => {
  const plan = planBaseChunks({ tokenCount: 20_000, ctx: 512, nVocab: 32_000, maxChunks: 5, freeBytes: 500 * GiB, dir: '/cache' });
  assert.equal(plan.chunks, 5);
  assert.equal(plan.capReason, null);
});

test('little free disk caps the chunks to fit and says so with the numbers', async () => {
  const free = await freeBytes(fakeStatfs(3 * GiB), '/cache');
  const plan = planBaseChunks({ tokenCount: 300_000, ctx: 512, nVocab: 152_064, freeBytes: free, dir: '/cache' });
  const budget = (free - KLD_DISK_RESERVE_BYTES) * KLD_DISK_SHARE;
  const per = kldBaseBytesPerChunk(512, 152_064);
  assert.equal(plan.chunks, Math.floor((budget - 20) / per));
  assert.ok(plan.bytes <= budget);
  assert.ok(kldBaseBytes({ nCtx: 512, nVocab: 152_064, nChunk: plan.chunks + 1 }) > budget, 'one more chunk would not fit');
  assert.match(plan.capReason ?? '', new RegExp(`only the first ${plan.chunks} chunks`));
  assert.match(plan.capReason ?? '', /3\.00 GiB free at \/cache/);
});

test('the size limit caps too, and is named as the reason', () => {
  const plan = planBaseChunks({
    tokenCount: 300_000,
    ctx: 512,
    nVocab: 32_000,
    freeBytes: 500 * GiB,
    maxBaseBytes: 100 * 1024 ** 2,
    dir: '/cache',
  });
  assert.ok(plan.chunks >= 1 && plan.bytes <= 100 * 1024 ** 2);
  assert.match(plan.capReason ?? '', /limit on a base file/);
});

test('no room for one chunk fails before any work, with what is needed and what is free', () => {
  assert.throws(
    () => planBaseChunks({ tokenCount: 10_000, ctx: 512, nVocab: 152_064, freeBytes: KLD_DISK_RESERVE_BYTES + 1024, dir: '/cache' }),
    (e: unknown) => e instanceof FailureError && /not enough disk/.test(e.message) && /PAJAMAS_CACHE_DIR/.test(e.message),
  );
});

test('a text shorter than two contexts is a usage error naming both numbers', () => {
  assert.equal(availableChunks(1024, 512, 't.txt'), 2);
  assert.throws(
    () => availableChunks(1023, 512, 't.txt'),
    (e: unknown) => e instanceof UsageError && /1023 tokens/.test(e.message) && /at least 1024/.test(e.message),
  );
});
