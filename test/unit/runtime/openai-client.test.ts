import assert from 'node:assert/strict';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type TestContext, describe, it } from 'node:test';
import { ToolError } from '../../../src/core/errors';
import { serverSentEvents, streamChatCompletion, streamTextCompletion } from '../../../src/core/runtime/openai-client';
import { createServerSession } from '../../../src/core/runtime/server-session';
import type { SessionInfo } from '../../../src/core/runtime/types';

type Handler = (body: Record<string, unknown>, res: ServerResponse, req: IncomingMessage) => void;

/** A local stand-in for an OpenAI-compatible server; records request bodies. */
async function fakeServer(
  t: TestContext,
  handler: Handler,
): Promise<{ baseUrl: string; bodies: Record<string, unknown>[]; closed: Promise<void> }> {
  const bodies: Record<string, unknown>[] = [];
  let markClosed!: () => void;
  const closed = new Promise<void>((r) => (markClosed = r));
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
    req.on('end', () => {
      const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
      bodies.push({ ...body, $path: req.url });
      res.on('close', markClosed);
      handler(body, res, req);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies, closed };
}

const chunk = (content: string, finish: string | null = null) =>
  `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content }, finish_reason: finish }] })}\n\n`;

function sse(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
}

const info: SessionInfo = {
  backend: 'mlx',
  artifactId: 'a',
  modelPath: '/m',
  contextSize: 512,
  device: 'metal',
  fit: '',
  chatTemplate: true,
};

describe('serverSentEvents', () => {
  it('joins events split anywhere, including inside "\\r\\n" and inside a UTF-8 character', async () => {
    const text = `data: {"a":"é"}\r\n\r\n: comment\r\n\r\ndata: line1\r\ndata: line2\r\n\r\ndata: [DONE]\r\n\r\n`;
    const bytes = Buffer.from(text);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 3) controller.enqueue(bytes.subarray(i, i + 3));
        controller.close();
      },
    });
    const events: string[] = [];
    for await (const e of serverSentEvents(body)) events.push(e);
    assert.deepEqual(events, ['{"a":"é"}', 'line1\nline2', '[DONE]']);
  });
});

describe('streamChatCompletion', () => {
  it('streams deltas, sends the request the servers expect, and reads the stop reason and usage', async (t) => {
    const { baseUrl, bodies } = await fakeServer(t, (_body, res) => {
      sse(res);
      res.write(chunk('Hel'));
      res.write(chunk('lo'));
      res.write(chunk('', 'length'));
      res.write(`data: ${JSON.stringify({ choices: [], usage: { completion_tokens: 2 } })}\n\n`);
      res.end('data: [DONE]\n\n');
    });
    const pieces: string[] = [];
    const messages = [{ role: 'user' as const, content: 'hi' }];
    const result = await streamChatCompletion({ baseUrl, name: 'fake' }, messages, {
      onToken: (p) => pieces.push(p),
      maxTokens: 2,
      temperature: 0,
      seed: 7,
      stop: ['\n'],
    });
    assert.deepEqual(pieces, ['Hel', 'lo']);
    assert.deepEqual(result, { text: 'Hello', stopReason: 'max-tokens', tokens: 2 });
    const { $path, ...body } = bodies[0]!;
    assert.equal($path, '/v1/chat/completions');
    assert.deepEqual(body, {
      messages,
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 2,
      temperature: 0,
      seed: 7,
      stop: ['\n'],
    });
    assert.equal('model' in body, false, 'no model field: mlx_lm.server would try to load it');
  });

  it('raw completion uses /v1/completions and choices[].text', async (t) => {
    const { baseUrl, bodies } = await fakeServer(t, (_body, res) => {
      sse(res);
      res.write(`data: ${JSON.stringify({ choices: [{ text: ' there', finish_reason: null }] })}\n\n`);
      res.end(`data: ${JSON.stringify({ choices: [{ text: '', finish_reason: 'stop' }] })}\n\ndata: [DONE]\n\n`);
    });
    const result = await streamTextCompletion({ baseUrl, name: 'fake' }, 'Hello');
    assert.deepEqual(result, { text: ' there', stopReason: 'eos', tokens: 1 });
    assert.equal(bodies[0]!.$path, '/v1/completions');
    assert.equal(bodies[0]!.prompt, 'Hello');
  });

  it('an HTTP error becomes a ToolError quoting the body', async (t) => {
    const { baseUrl } = await fakeServer(t, (_body, res) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"context too long"}}');
    });
    await assert.rejects(
      streamChatCompletion({ baseUrl, name: 'fake' }, [{ role: 'user', content: 'x' }]),
      (e: unknown) =>
        e instanceof ToolError &&
        /fake answered \/v1\/chat\/completions with HTTP 400/.test(e.message) &&
        /context too long/.test(e.message),
    );
  });

  it('an error event in the stream becomes a ToolError', async (t) => {
    const { baseUrl } = await fakeServer(t, (_body, res) => {
      sse(res);
      res.end(`data: ${JSON.stringify({ error: { message: 'out of memory' } })}\n\n`);
    });
    await assert.rejects(streamChatCompletion({ baseUrl, name: 'fake' }, [{ role: 'user', content: 'x' }]), /out of memory/);
  });

  it('cancelling mid-reply returns the text so far and closes the connection', async (t) => {
    const { baseUrl, closed } = await fakeServer(t, (_body, res) => {
      sse(res);
      let i = 0;
      const timer = setInterval(() => res.write(chunk(`t${i++} `)), 10);
      res.on('close', () => clearInterval(timer));
    });
    const controller = new AbortController();
    let count = 0;
    const result = await streamChatCompletion({ baseUrl, name: 'fake' }, [{ role: 'user', content: 'x' }], {
      signal: controller.signal,
      onToken: () => {
        if (++count === 3) controller.abort();
      },
    });
    assert.equal(result.stopReason, 'cancelled');
    assert.equal(result.text, 't0 t1 t2 ');
    await closed; // the server saw the client go away, so it stops generating
  });
});

describe('createServerSession', () => {
  it('sends the whole conversation each turn, keeps a cancelled partial reply, resets, and closes once', async (t) => {
    let turn = 0;
    const { baseUrl, bodies } = await fakeServer(t, (_body, res) => {
      sse(res);
      turn++;
      if (turn === 1) {
        // an endless reply, cancelled by the client
        const timer = setInterval(() => res.write(chunk('blah ')), 10);
        res.on('close', () => clearInterval(timer));
        return;
      }
      res.end(`${chunk(`answer ${turn}`, 'stop')}data: [DONE]\n\n`);
    });
    let closes = 0;
    const session = createServerSession({
      server: { baseUrl, name: 'fake' },
      info,
      systemPrompt: 'be brief',
      onClose: async () => void closes++,
    });
    const controller = new AbortController();
    const first = await session.chat('tell me everything', { signal: controller.signal, onToken: () => controller.abort() });
    assert.equal(first.stopReason, 'cancelled');
    assert.equal(first.text, 'blah ');
    const second = await session.chat('shorter please');
    assert.deepEqual(second, { text: 'answer 2', stopReason: 'eos', tokens: 1 });
    assert.deepEqual(bodies[1]!.messages, [
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'tell me everything' },
      { role: 'assistant', content: 'blah ' },
      { role: 'user', content: 'shorter please' },
    ]);
    await session.reset();
    await session.chat('again');
    assert.deepEqual(bodies[2]!.messages, [
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'again' },
    ]);
    assert.equal(session.history().length, 3);
    await Promise.all([session.close(), session.close()]);
    assert.equal(closes, 1);
  });

  it('a failed turn leaves the conversation as it was', async (t) => {
    const { baseUrl } = await fakeServer(t, (_body, res) => {
      res.writeHead(500);
      res.end('boom');
    });
    const session = createServerSession({ server: { baseUrl, name: 'fake' }, info });
    await assert.rejects(session.chat('hi'), ToolError);
    assert.deepEqual(session.history(), []);
  });
});
