/**
 * The MLX backend's wiring, without MLX: a stand-in "python" (a Node script) that answers
 * `-c "import mlx_lm"` and `-m mlx_lm.server --model M --host H --port P` the way the real ones
 * do. openSession on "Apple Silicon" picks the MLX artifact, starts the server with the artifact's
 * folder, chats over the OpenAI-compatible API, and close() stops the server.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { UnsupportedError } from '../../../src/core/errors';
import { canImportMlxLm } from '../../../src/core/runtime/mlx-session';
import { openSession, planSession } from '../../../src/core/runtime/session';
import { tempDir } from '../../fixtures/bytes';
import { ggufArtifactFor, manifestWith, sha256 } from '../../fixtures/manifest';

const FAKE_PYTHON = `#!${process.execPath}
const http = require('node:http');
const args = process.argv.slice(2);
if (args[0] === '-c') process.exit(args[1] === 'import mlx_lm' ? 0 : 1);
if (args[0] !== '-m' || args[1] !== 'mlx_lm.server') process.exit(2);
const get = (name) => args[args.indexOf(name) + 1];
http.createServer((req, res) => {
  if (req.url === '/health') { res.writeHead(200); return res.end('{"status":"ok"}'); }
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    const request = JSON.parse(body);
    const last = request.messages[request.messages.length - 1].content;
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const chunk = (content, finish) => 'data: ' + JSON.stringify({ choices: [{ delta: { content }, finish_reason: finish }] }) + '\\n\\n';
    res.write(chunk('model=' + require('node:path').basename(get('--model')) + ' ', null));
    res.end(chunk('turns=' + request.messages.length + ' last=' + last, 'stop') + 'data: [DONE]\\n\\n');
  });
}).listen(Number(get('--port')), get('--host'));
`;

function mlxManifest(dir: string): void {
  const folder = path.join(dir, 'tiny-mlx-4bit');
  mkdirSync(folder);
  const config = Buffer.from('{"model_type":"llama"}');
  writeFileSync(path.join(folder, 'config.json'), config);
  writeFileSync(path.join(folder, 'tokenizer_config.json'), JSON.stringify({ chat_template: '{{ messages }}' }));
  const gguf = Buffer.from('GGUF not really');
  writeFileSync(path.join(dir, 'tiny-Q4_K_M.gguf'), gguf);
  const mlx = {
    id: 'tiny-mlx-4bit',
    format: 'mlx' as const,
    path: 'tiny-mlx-4bit',
    target: 'mlx-4bit',
    strategy: 'pajamas' as const,
    imatrix: false,
    sizeBytes: config.length,
    bpw: 4.5,
    bits: 4,
    groupSize: 64,
    inputsKey: sha256('x'),
    createdAt: '2026-11-26T10:00:00.000Z',
    quality: null,
    files: [{ path: 'config.json', sizeBytes: config.length, sha256: sha256(config) }],
    tensorBits: { '4': 1 },
  };
  writeFileSync(
    path.join(dir, 'manifest.json'),
    JSON.stringify(manifestWith([ggufArtifactFor(path.join(dir, 'tiny-Q4_K_M.gguf'), gguf), mlx])),
  );
}

const budget = { ramBytes: 64 * 2 ** 30, vramBytes: 64 * 2 ** 30, unified: true };

describe('MLX backend', () => {
  it('on Apple Silicon with mlx_lm, runs the MLX artifact through mlx_lm.server', async (t) => {
    const dir = tempDir(t);
    const python = path.join(dir, 'python3');
    writeFileSync(python, FAKE_PYTHON);
    chmodSync(python, 0o755);
    mlxManifest(dir);
    assert.equal(await canImportMlxLm(python), true);
    const session = await openSession(dir, {
      mlxPython: python,
      environment: { platform: 'darwin', arch: 'arm64' },
      memoryBudget: budget,
      hashCacheFile: null,
    });
    t.after(() => session.close());
    assert.equal(session.info.backend, 'mlx');
    assert.equal(session.info.artifactId, 'tiny-mlx-4bit');
    assert.equal(session.info.chatTemplate, true);
    const pieces: string[] = [];
    const reply = await session.chat('hello', { onToken: (p) => pieces.push(p) });
    assert.equal(reply.text, 'model=tiny-mlx-4bit turns=1 last=hello');
    assert.equal(pieces.length, 2);
    assert.equal((await session.chat('again')).text, 'model=tiny-mlx-4bit turns=3 last=again');
    await session.close();
    await assert.rejects(session.chat('after close'));
  });

  it('elsewhere the same manifest runs its GGUF; forcing MLX without mlx_lm is explained', async (t) => {
    const dir = tempDir(t);
    mlxManifest(dir);
    const onLinux = await planSession(dir, { environment: { platform: 'linux', arch: 'x64' }, memoryBudget: budget });
    assert.equal(onLinux.backend.backend, 'gguf');
    assert.equal(onLinux.choice.chosen?.artifact.id, 'tiny-Q4_K_M');
    const noPython = path.join(dir, 'no-python');
    await assert.rejects(
      planSession(dir, { backend: 'mlx', mlxPython: noPython, environment: { platform: 'darwin', arch: 'arm64' }, memoryBudget: budget }),
      (e: unknown) => e instanceof UnsupportedError && /needs a Python environment with mlx_lm/.test(e.message),
    );
    assert.equal(await canImportMlxLm(noPython), false);
  });
});
