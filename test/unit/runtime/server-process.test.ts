import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CancelledError, ToolError } from '../../../src/core/errors';
import { freeLoopbackPort, startServerProcess } from '../../../src/core/runtime/server-process';

/** A stand-in server: /health answers 503 while "loading" for `loadMs`, then 200. */
const SERVER = `
const http = require('node:http');
const [host, port, loadMs] = process.argv.slice(1);
const ready = Date.now() + Number(loadMs);
console.error('loading model...');
http.createServer((req, res) => {
  if (req.url !== '/health') { res.writeHead(404); return res.end(); }
  res.writeHead(Date.now() < ready ? 503 : 200);
  res.end();
}).listen(Number(port), host);
`;

const isListening = async (url: string) =>
  fetch(url).then(
    () => true,
    () => false,
  );

describe('startServerProcess', () => {
  it('waits for /health, then stop() ends the process', async () => {
    const server = await startServerProcess({
      name: 'fake-server',
      command: process.execPath,
      args: (host, port) => ['-e', SERVER, host, String(port), '300'],
    });
    assert.match(server.baseUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal((await fetch(`${server.baseUrl}/health`)).status, 200);
    assert.ok(server.outputTail().includes('loading model...'));
    await server.stop();
    await server.exited;
    assert.equal(await isListening(`${server.baseUrl}/health`), false);
    await server.stop(); // idempotent
  });

  it('a server that exits before it is ready is a ToolError with its last output', async () => {
    await assert.rejects(
      startServerProcess({
        name: 'fake-server',
        command: process.execPath,
        args: () => ['-e', 'console.error("cannot load model.safetensors"); process.exit(3)'],
      }),
      (e: unknown) =>
        e instanceof ToolError &&
        e.exitCode === 3 &&
        /fake-server exited before it was ready/.test(e.message) &&
        /cannot load model\.safetensors/.test(e.message),
    );
  });

  it('a program that cannot start is a ToolError', async () => {
    await assert.rejects(
      startServerProcess({ name: 'missing', command: '/nonexistent/python3', args: () => [] }),
      (e: unknown) => e instanceof ToolError && /cannot start \/nonexistent\/python3/.test(e.message),
    );
  });

  it('gives up after the ready timeout and kills the process', async () => {
    let pid = -1;
    await assert.rejects(
      startServerProcess({
        name: 'silent',
        command: process.execPath,
        args: () => ['-e', 'console.log(process.pid); setInterval(() => {}, 1000)'],
        // Long enough for Node to start and print its pid on a busy machine.
        readyTimeoutMs: 3000,
        log: () => {},
      }).catch((e: ToolError) => {
        pid = Number(e.stderrTail[0]);
        throw e;
      }),
      (e: unknown) => e instanceof ToolError && /did not answer .*\/health within 3\.0 s/.test(e.message),
    );
    assert.ok(pid > 0);
    assert.throws(() => process.kill(pid, 0), /ESRCH/);
  });

  it('aborting while it loads cancels and kills it', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    await assert.rejects(
      startServerProcess({
        name: 'slow',
        command: process.execPath,
        args: (host, port) => ['-e', SERVER, host, String(port), '60000'],
        signal: controller.signal,
      }),
      CancelledError,
    );
  });
});

describe('freeLoopbackPort', () => {
  it('returns distinct usable ports', async () => {
    const a = await freeLoopbackPort();
    assert.ok(a > 0 && a < 65536);
  });
});
