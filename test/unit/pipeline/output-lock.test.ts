/** The output-folder lock: a second writer waits or refuses, a dead writer's lock is taken over. */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { FailureError } from '../../../src/core/errors';
import { OUTPUT_LOCK_FILE, lockOutputFolder } from '../../../src/core/pipeline/output-lock';
import { tempDir } from '../../fixtures/bytes';

test('a second writer refuses with a message naming the folder and the holder, or waits for it', async (t) => {
  const dir = tempDir(t);
  const release = await lockOutputFolder(dir);
  assert.ok(existsSync(path.join(dir, OUTPUT_LOCK_FILE)));
  await assert.rejects(
    lockOutputFolder(dir, { wait: false }),
    (e: unknown) =>
      e instanceof FailureError &&
      e.message.includes(dir) &&
      new RegExp(`process ${process.pid} on ${os.hostname()} \\(quantize`).test(e.message) &&
      /refusing to write into it at the same time/.test(e.message),
  );
  const lines: string[] = [];
  let second = false;
  const waiting = lockOutputFolder(dir, { pollMs: 20, log: (l) => lines.push(l) }).then((r) => {
    second = true;
    return r;
  });
  // Until it says it waits (a loaded machine may take a while to get there), and some polls after.
  for (let i = 0; i < 500 && !lines.length; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(second, false, 'waits while the first holds the folder');
  assert.match(lines.join('\n'), /is being written by process \d+ .*waiting for it to finish/);
  await release();
  const releaseSecond = await waiting;
  await releaseSecond();
  assert.equal(existsSync(path.join(dir, OUTPUT_LOCK_FILE)), false);
});

test('a lock left by a killed run is taken over', async (t) => {
  const dir = tempDir(t);
  const dead = { pid: 2 ** 22 + 12345, hostname: os.hostname(), startedAt: new Date().toISOString(), purpose: 'quantize' };
  writeFileSync(path.join(dir, OUTPUT_LOCK_FILE), JSON.stringify(dead));
  const release = await lockOutputFolder(dir, { wait: false });
  await release();
});

test('waiting stops when cancelled', async (t) => {
  const dir = tempDir(t);
  const release = await lockOutputFolder(dir);
  const controller = new AbortController();
  const waiting = lockOutputFolder(dir, { pollMs: 20, signal: controller.signal });
  setTimeout(() => controller.abort(), 50);
  await assert.rejects(waiting, /Cancelled/);
  await release();
});
