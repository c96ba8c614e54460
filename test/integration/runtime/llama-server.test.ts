/**
 * The MLX backend's client side (server process + OpenAI-compatible streaming API), tested against
 * the real llama-server built from the same pinned llama.cpp, since MLX cannot run here: start it
 * on a free loopback port, wait for /health, stream /v1/chat/completions, cancel mid-reply and go
 * on, and check that raw greedy completion matches the in-process GGUF backend token for token.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { streamTextCompletion } from '../../../src/core/runtime/openai-client';
import { startServerProcess } from '../../../src/core/runtime/server-process';
import { createServerSession } from '../../../src/core/runtime/server-session';
import { openSession } from '../../../src/core/runtime/session';
import { sharedAsset } from '../../helpers/env';
import { llamaToolsOrSkip } from '../../helpers/llama-tools';
import { buildCli } from './helpers';

describe('OpenAI-compatible client against llama-server', () => {
  before(() => buildCli()); // the GGUF session it compares with runs in dist/model-host.js

  it('streams chat, survives cancellation, resets, and matches the GGUF backend on raw greedy completion', async (t) => {
    const file = sharedAsset(t, 'models/stories260K-gguf/stories260K.gguf');
    if (!file) return;
    const tools = await llamaToolsOrSkip(t);
    if (!tools) return;
    const server = await startServerProcess({
      name: 'llama-server',
      command: tools.tools['llama-server'],
      args: (host, port) => ['-m', file, '--host', host, '--port', String(port), '-t', '1', '-c', '1024', '-np', '1'],
      readyTimeoutMs: 60_000,
    });
    t.after(() => server.stop());
    const session = createServerSession({
      server: { baseUrl: server.baseUrl, name: 'llama-server' },
      info: { backend: 'mlx', artifactId: 'stories260K', modelPath: file, contextSize: 1024, device: 'cpu', fit: '', chatTemplate: false },
      onClose: () => server.stop(),
    });

    const pieces: string[] = [];
    const first = await session.chat('Tell me a story.', { temperature: 0, maxTokens: 24, onToken: (p) => pieces.push(p) });
    assert.ok(pieces.length > 5, `streamed in ${pieces.length} pieces`);
    assert.equal(first.text, pieces.join(''));
    assert.equal(first.stopReason, 'max-tokens');
    assert.equal(first.tokens, 24);

    const controller = new AbortController();
    let n = 0;
    const cancelled = await session.chat('Another one.', {
      temperature: 0,
      maxTokens: 500,
      signal: controller.signal,
      onToken: () => {
        if (++n === 3) controller.abort();
      },
    });
    assert.equal(cancelled.stopReason, 'cancelled');
    assert.ok(cancelled.text.length > 0);
    const after = await session.chat('And then?', { temperature: 0, maxTokens: 16 });
    assert.equal(after.stopReason, 'max-tokens');
    assert.equal(session.history().length, 6);
    await session.reset();
    assert.equal((await session.chat('Tell me a story.', { temperature: 0, maxTokens: 24 })).text, first.text);

    // Raw greedy completion: the server and node-llama-cpp run the same llama.cpp on the same file.
    const remote = await streamTextCompletion({ baseUrl: server.baseUrl, name: 'llama-server' }, 'Once upon a time', {
      temperature: 0,
      maxTokens: 32,
    });
    const local = await openSession(file, { threads: 1, contextSize: 512, hashCacheFile: null });
    t.after(() => local.close());
    const mine = await local.complete('Once upon a time', { temperature: 0, maxTokens: 32 });
    assert.ok(mine.text.length > 20);
    assert.equal(remote.text, mine.text);

    // Closing the session stops the server process.
    await session.close();
    await server.exited;
    await assert.rejects(fetch(`${server.baseUrl}/health`));
  });
});
