import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { CancelledError, FailureError } from '../../../src/core/errors';
import { acquireLock, readOwner } from '../../../src/core/llamacpp/lock';
import { tempDir } from './fake-tools';

function deadPid(): number {
  const r = spawnSync('sh', ['-c', 'echo $$']);
  return Number(r.stdout.toString().trim());
}

test('the lock records its owner and is removed on release', async (t) => {
  const lock = path.join(tempDir(t), 'x.lock');
  const release = await acquireLock(lock, { purpose: 'build llama.cpp v0.4.0' });
  const owner = await readOwner(lock);
  assert.equal(owner?.pid, process.pid);
  assert.equal(owner?.hostname, os.hostname());
  assert.equal(owner?.purpose, 'build llama.cpp v0.4.0');
  await release();
  assert.equal(existsSync(lock), false);
});

test('a second taker that will not wait is told who holds the lock', async (t) => {
  const lock = path.join(tempDir(t), 'x.lock');
  const release = await acquireLock(lock);
  await assert.rejects(
    acquireLock(lock, { wait: false }),
    (e: unknown) =>
      e instanceof FailureError &&
      e.message.includes(`held by process ${process.pid} on ${os.hostname()}`) &&
      /a build is already running/.test(e.message),
  );
  await release();
});

test('a waiting taker gets the lock when the owner releases it', async (t) => {
  const lock = path.join(tempDir(t), 'x.lock');
  const release = await acquireLock(lock);
  const waits: unknown[] = [];
  const second = acquireLock(lock, { pollMs: 20, onWait: (owner) => waits.push(owner) });
  await delay(100);
  assert.equal(waits.length, 1);
  await release();
  const releaseSecond = await second;
  assert.ok(existsSync(lock));
  await releaseSecond();
});

test('a lock left by a dead process on this host is taken over', async (t) => {
  const lock = path.join(tempDir(t), 'x.lock');
  const pid = deadPid();
  writeFileSync(lock, JSON.stringify({ pid, hostname: os.hostname(), startedAt: '2020-01-01T00:00:00Z', purpose: 'build' }));
  const release = await acquireLock(lock, { wait: false });
  assert.equal((await readOwner(lock))?.pid, process.pid);
  await release();
});

test('a fresh lock from another host is respected; waiting gives up after the limit', async (t) => {
  const lock = path.join(tempDir(t), 'x.lock');
  writeFileSync(lock, JSON.stringify({ pid: 1, hostname: 'elsewhere', startedAt: new Date().toISOString(), purpose: 'build' }));
  await assert.rejects(acquireLock(lock, { pollMs: 10, waitLimitMs: 50 }), /gave up waiting for .* held by process 1 on elsewhere/);
});

test('aborting while waiting is a CancelledError and leaves the owner lock alone', async (t) => {
  const lock = path.join(tempDir(t), 'x.lock');
  const release = await acquireLock(lock);
  const controller = new AbortController();
  const waiting = acquireLock(lock, { signal: controller.signal, pollMs: 1000 });
  setTimeout(() => controller.abort(), 50);
  await assert.rejects(waiting, CancelledError);
  assert.equal((await readOwner(lock))?.pid, process.pid);
  await release();
});
