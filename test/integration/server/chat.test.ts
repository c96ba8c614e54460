/**
 * The chat requests through the worker (dist/server.js over IPC) on the shared trained GGUF: the
 * memory-fit check (and its refusal with a reason under a tiny budget), a greedy reply streamed in
 * pieces that equals `pajamas run --chat` on the same file and prompt, Stop mid-reply keeping the
 * partial text with the next prompt answered, and switching models closing the previous session.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CancelJobNotification } from '../../../src/protocol/worker';
import { ChatFitRequest, ChatGenerateRequest, ChatLoadRequest, ChatTextNotification, ChatUnloadRequest } from '../../../src/protocol/chat';
import { projectRoot, sharedAsset } from '../../helpers/env';
import { startWorker } from './worker-harness';

const PROMPT = 'Once upon a time';
const GREEDY = { temperature: 0, topP: 1, maxTokens: 40 };

function pajamasRun(model: string, prompt: string, maxTokens: number): { text: string; stopReason: string } {
  const args = ['bin/pajamas.js', 'run', model, '-p', prompt, '--chat', '--temperature', '0', '--max-tokens', String(maxTokens), '--json'];
  const r = spawnSync(process.execPath, args, { cwd: projectRoot, encoding: 'utf8', timeout: 180_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { text: string; stopReason: string };
}

test('chat through the worker: fit, greedy parity with pajamas run, stop, switch', async (t) => {
  const gguf = sharedAsset(t, 'models/stories260K-gguf/stories260K.gguf');
  if (!gguf) return;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pajamas-chat-'));
  const w = await startWorker();
  t.after(async () => {
    await w.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const pieces = new Map<string, string[]>();
  w.connection.onNotification(ChatTextNotification, ({ jobId, text }) => {
    pieces.set(jobId, [...(pieces.get(jobId) ?? []), text]);
  });

  const fit = await w.connection.sendRequest(ChatFitRequest, { input: gguf, artifactId: null });
  assert.equal(fit.fits, true, fit.explanation);
  assert.match(fit.backend, /^node-llama-cpp/);
  const tight = await w.connection.sendRequest(ChatFitRequest, { input: gguf, artifactId: null, memoryBudgetBytes: 64 * 2 ** 20 });
  assert.equal(tight.fits, false);
  assert.match(tight.explanation, /No artifact fits in 64\.00 MiB/);

  const loaded = await w.connection.sendRequest(ChatLoadRequest, { jobId: 'load-1', input: gguf, artifactId: null });
  assert.equal(loaded.info.backend, 'gguf');
  const messages = [{ role: 'user' as const, content: PROMPT }];
  const reply = await w.connection.sendRequest(ChatGenerateRequest, {
    jobId: 'g1',
    sessionId: loaded.sessionId,
    messages,
    generation: GREEDY,
  });
  const expected = pajamasRun(gguf, PROMPT, GREEDY.maxTokens);
  assert.equal(reply.text, expected.text, 'the chat reply differs from pajamas run --chat on the same file and prompt');
  assert.equal((pieces.get('g1') ?? []).join(''), reply.text, 'the streamed pieces do not add up to the reply');
  assert.ok(reply.stats.tokens > 0 && reply.stats.ttftMs > 0 && reply.stats.memoryBytes > 0);
  assert.ok(reply.stats.contextUsed !== null && reply.stats.contextUsed > reply.stats.tokens, 'context used counts the prompt too');

  // Stop mid-reply: the request resolves with what was generated, and the next prompt is answered.
  const long = w.connection.sendRequest(ChatGenerateRequest, {
    jobId: 'g2',
    sessionId: loaded.sessionId,
    messages,
    generation: { temperature: 0.8, topP: 0.95, maxTokens: 2000, seed: 1 },
  });
  await new Promise<void>((resolve) => {
    const sub = w.connection.onNotification(ChatTextNotification, ({ jobId }) => {
      if (jobId !== 'g2') return;
      sub.dispose();
      resolve();
    });
  });
  await w.connection.sendNotification(CancelJobNotification, { jobId: 'g2' });
  const stopped = await long;
  assert.equal(stopped.stopReason, 'cancelled');
  assert.ok(stopped.stats.tokens < 2000);
  const next = await w.connection.sendRequest(ChatGenerateRequest, {
    jobId: 'g3',
    sessionId: loaded.sessionId,
    messages: [...messages, { role: 'assistant', content: stopped.text }, { role: 'user', content: 'And then?' }],
    generation: GREEDY,
  });
  assert.ok(next.text.length > 0 && next.stopReason !== 'cancelled');

  // Switching: the previous session closes before the next loads, and its id stops working.
  const other = path.join(dir, 'copy.gguf');
  await copyFile(gguf, other);
  const switched = await w.connection.sendRequest(ChatLoadRequest, { jobId: 'load-2', input: other, artifactId: null });
  assert.ok(switched.sessionId !== loaded.sessionId);
  assert.ok(switched.memory.afterCloseBytes <= switched.memory.beforeBytes, JSON.stringify(switched.memory));
  await assert.rejects(
    w.connection.sendRequest(ChatGenerateRequest, { jobId: 'g4', sessionId: loaded.sessionId, messages, generation: GREEDY }),
    /no longer loaded/,
  );
  const unloaded = await w.connection.sendRequest(ChatUnloadRequest, { sessionId: null });
  console.log(
    `memory (RSS of the worker and its children): first model ${mb(loaded.memory.loadedBytes)}, ` +
      `before switching ${mb(switched.memory.beforeBytes)}, after closing it ${mb(switched.memory.afterCloseBytes)}, ` +
      `second model ${mb(switched.memory.loadedBytes)}, after unloading ${mb(unloaded.memory.afterBytes)}`,
  );
});

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
