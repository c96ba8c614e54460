/**
 * openSession on real GGUF files through node-llama-cpp: streaming, stop strings, cancellation
 * mid-reply (the session stays usable and consistent), reset, close, the memory-fit choice, and
 * clear errors for missing or corrupted artifacts.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type TestContext, before, describe, it } from 'node:test';
import { FailureError, FormatError, UsageError } from '../../../src/core/errors';
import { estimateMemory } from '../../../src/core/runtime/memory-fit';
import { openSession } from '../../../src/core/runtime/session';
import { loadRuntimeTarget } from '../../../src/core/runtime/target';
import type { ChatMessage } from '../../../src/core/runtime/types';
import { tempDir } from '../../fixtures/bytes';
import { ggufArtifactFor, manifestWith } from '../../fixtures/manifest';
import { sharedAsset } from '../../helpers/env';
import { llamaToolsOrSkip } from '../../helpers/llama-tools';
import { buildCli, requantize } from './helpers';

const STORIES = 'models/stories260K-gguf/stories260K.gguf';
const THREADS = 1;
const greedy = { temperature: 0, maxTokens: 40 };

// GGUF sessions run in a model host: dist/model-host.js must be built.
before(() => buildCli());

describe('openSession (GGUF through node-llama-cpp)', () => {
  it('raw completion streams, is deterministic at temperature 0, and honours stop strings', async (t) => {
    const file = sharedAsset(t, STORIES);
    if (!file) return;
    const session = await openSession(file, { threads: THREADS, contextSize: 512, hashCacheFile: null });
    t.after(() => session.close());
    assert.equal(session.info.backend, 'gguf');
    assert.equal(session.info.device, 'cpu');
    assert.equal(session.info.chatTemplate, false);
    const pieces: string[] = [];
    const a = await session.complete('Once upon a time', { ...greedy, onToken: (p) => pieces.push(p) });
    assert.equal(a.stopReason, 'max-tokens');
    assert.equal(a.tokens, 40);
    // Streamed in batches (at most one message per STREAM_FLUSH_MS), every character in order.
    assert.ok(pieces.length >= 1, 'streamed');
    assert.equal(pieces.join(''), a.text);
    const b = await session.complete('Once upon a time', greedy);
    assert.equal(b.text, a.text);
    const word = a.text.trim().split(/\s+/)[3]!;
    const stopped = await session.complete('Once upon a time', { ...greedy, stop: [word] });
    assert.equal(stopped.stopReason, 'stop');
    assert.equal(stopped.text, a.text.slice(0, a.text.indexOf(word)));
  });

  it('cancelling mid-reply leaves the session usable and consistent', async (t) => {
    const file = sharedAsset(t, STORIES);
    if (!file) return;
    const session = await openSession(file, { threads: THREADS, contextSize: 1024, hashCacheFile: null });
    t.after(() => session.close());
    const controller = new AbortController();
    // Text arrives in batches: cancel at the first one, well before 1000 tokens.
    const cancelled = await session.chat('Tell me a story about a dog.', {
      temperature: 0,
      maxTokens: 1000,
      signal: controller.signal,
      onToken: () => controller.abort(),
    });
    assert.equal(cancelled.stopReason, 'cancelled');
    assert.ok(cancelled.tokens >= 1 && cancelled.tokens < 1000, `stopped early: ${cancelled.tokens} tokens`);
    const next = await session.chat('What happened next?', greedy);
    assert.ok(next.text.length > 0);
    assert.notEqual(next.stopReason, 'cancelled');
    const history = session.history();
    assert.deepEqual(
      history.map((m) => m.role),
      ['user', 'assistant', 'user', 'assistant'],
    );
    assert.equal(history[1]!.content, cancelled.text);

    // A fresh session given the same conversation (the partial reply included) answers the same:
    // the cancelled one kept no stale state.
    const fresh = await openSession(file, { threads: THREADS, contextSize: 1024, hashCacheFile: null });
    t.after(() => fresh.close());
    const replay: ChatMessage[] = [...history.slice(0, 3)];
    assert.equal((await fresh.chat(replay, greedy)).text, next.text);

    // reset: the first question gets the same answer as in a new conversation
    await session.reset();
    assert.deepEqual(session.history(), []);
    await fresh.reset();
    assert.equal((await session.chat('Hello', greedy)).text, (await fresh.chat('Hello', greedy)).text);
  });

  it('a raw completion between chat turns does not disturb the conversation', async (t) => {
    const file = sharedAsset(t, STORIES);
    if (!file) return;
    const a = await openSession(file, { threads: THREADS, contextSize: 1024, hashCacheFile: null });
    const b = await openSession(file, { threads: THREADS, contextSize: 1024, hashCacheFile: null });
    t.after(() => Promise.all([a.close(), b.close()]));
    await a.chat('Hi', greedy);
    await b.chat('Hi', greedy);
    await a.complete('The cat sat', greedy);
    assert.equal((await a.chat('And then?', greedy)).text, (await b.chat('And then?', greedy)).text);
  });

  it('close() frees the session; using it afterwards is an error', async (t) => {
    const file = sharedAsset(t, STORIES);
    if (!file) return;
    const session = await openSession(file, { threads: THREADS, contextSize: 256, hashCacheFile: null });
    await Promise.all([session.close(), session.close()]);
    await assert.rejects(session.complete('x', greedy), (e: unknown) => e instanceof UsageError && /session is closed/.test(e.message));
  });
});

describe('openSession on manifests', () => {
  async function twoArtifactManifest(t: TestContext) {
    const src = sharedAsset(t, STORIES);
    if (!src) return undefined;
    const tools = await llamaToolsOrSkip(t);
    if (!tools) return undefined;
    const dir = tempDir(t);
    const f32 = path.join(dir, 'stories-F32.gguf');
    writeFileSync(f32, readFileSync(src));
    const q8 = await requantize(tools, f32, dir, 'Q8_0');
    const quality = (kldMean: number) => ({
      text: { name: 'eval', sha256: '0'.repeat(64) },
      contextSize: 128,
      ppl: 10,
      kldMean,
      kldP99: null,
      top1: null,
      pplRatio: null,
      gate: null,
      evaluatedAt: '2026-11-26T10:00:00.000Z',
    });
    const artifacts = [
      ggufArtifactFor(q8, readFileSync(q8), { id: 'stories-Q8_0', target: 'Q8_0', bpw: 8.5, quality: quality(0.001) }),
      ggufArtifactFor(f32, readFileSync(f32), { id: 'stories-F32', target: 'Q8_0', bpw: 32, quality: quality(0) }),
    ];
    writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifestWith(artifacts), null, 2));
    return { dir, f32, q8 };
  }

  it('picks the best artifact that fits the memory, and explains when none does', async (t) => {
    const m = await twoArtifactManifest(t);
    if (!m) return;
    const target = await loadRuntimeTarget(m.dir);
    const need = (id: string) =>
      estimateMemory(target.architecture, target.artifacts.find((a) => a.id === id)!.sizeBytes, { contextSize: 512 }).totalBytes;
    const budget = (bytes: number) => ({ ramBytes: bytes, vramBytes: 0, unified: false });
    const open = (bytes: number) =>
      openSession(m.dir, { threads: THREADS, contextSize: 512, memoryBudget: budget(bytes), hashCacheFile: null });

    const roomy = await open(need('stories-F32') + 1);
    assert.equal(roomy.info.artifactId, 'stories-F32');
    await roomy.close();
    const tight = await open(need('stories-Q8_0') + 1);
    assert.equal(tight.info.artifactId, 'stories-Q8_0');
    assert.match(tight.info.fit, /Better but too big: stories-F32/);
    await tight.close();
    await assert.rejects(
      open(need('stories-Q8_0') - 1),
      (e: unknown) => e instanceof FailureError && /No artifact fits in .* free RAM/.test(e.message),
    );
  });

  it('a missing artifact file is a clear error naming the field and the file', async (t) => {
    const m = await twoArtifactManifest(t);
    if (!m) return;
    rmSync(m.f32);
    await assert.rejects(
      openSession(m.dir, { threads: THREADS, contextSize: 256, hashCacheFile: null }),
      (e: unknown) => e instanceof FormatError && e.message.includes(`artifact "stories-F32" (artifacts[1].path): ${m.f32} is missing`),
    );
  });

  it('a corrupted artifact of the right size fails the SHA-256 check before loading', async (t) => {
    const m = await twoArtifactManifest(t);
    if (!m) return;
    const bytes = readFileSync(m.q8);
    bytes[bytes.length - 100] = bytes[bytes.length - 100]! ^ 0x55;
    writeFileSync(m.q8, bytes);
    await assert.rejects(
      openSession(m.dir, { artifact: 'stories-Q8_0', threads: THREADS, contextSize: 256, hashCacheFile: null }),
      (e: unknown) =>
        e instanceof FormatError &&
        /artifact "stories-Q8_0" \(artifacts\[0\]\.sha256\): .* has SHA-256 [0-9a-f]{64}, the manifest says/.test(e.message),
    );
    // The size-only fast path does not read the file, so it loads (the damage is in weights).
    const session = await openSession(m.dir, {
      artifact: 'stories-Q8_0',
      verify: 'size',
      threads: THREADS,
      contextSize: 256,
      hashCacheFile: null,
    });
    await session.close();
  });
});
