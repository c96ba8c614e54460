/**
 * Long CPU work and huge declared counts against SIGINT/SIGTERM: the million-layer config that
 * once kept `detect` busy for minutes is refused at once, and a command reading a header of
 * millions of entries stops when signalled (SIGTERM or SIGINT: exit 130) instead of finishing first.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { CancelledError } from '../../src/core/errors';
import { readGgufHeader } from '../../src/core/formats/gguf';
import { tempDir } from '../fixtures/bytes';
import { buildGguf, T } from '../fixtures/gguf-builder';
import { TINY_LLAMA_CONFIG } from '../fixtures/configs';
import { projectRoot } from '../helpers/env';

const CLI = path.join(projectRoot, 'bin', 'pajamas.js');

test('a million-layer config is refused at once, not worked through', (t) => {
  const dir = tempDir(t);
  for (const layers of [1e6, 2 ** 31 - 1, 1e18]) {
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...TINY_LLAMA_CONFIG, num_hidden_layers: layers }));
    for (const command of ['detect', 'plan']) {
      const started = Date.now();
      const r = spawnSync(process.execPath, [CLI, command, dir], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 3, `${command} ${layers}: ${r.stderr}`);
      assert.match(r.stderr, /"num_hidden_layers" is .*, more than the limit of 512 \(MAX_LAYERS\)/);
      assert.doesNotMatch(r.stderr, /^\s+at /m);
      assert.ok(Date.now() - started < 30_000, `${command} took ${Date.now() - started} ms`);
    }
  }
});

/** A GGUF whose header holds `n` tokens: reading it is long CPU work with I/O in between. */
function bigVocabGguf(dir: string, n: number): string {
  const tokens = Array.from({ length: n }, (_, i) => `tok${i}`);
  const file = path.join(dir, 'big.gguf');
  writeFileSync(
    file,
    buildGguf({
      kvs: [
        { key: 'general.architecture', type: T.str, value: 'llama' },
        { key: 'tokenizer.ggml.tokens', type: T.arr, value: { itemType: T.str, items: tokens } },
      ],
    }),
  );
  return file;
}

test('reading a huge header stops when cancelled', async (t) => {
  const file = bigVocabGguf(tempDir(t), 200_000);
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(readGgufHeader(file, { signal: controller.signal }), CancelledError);
});

test('SIGTERM and SIGINT stop a command in the middle of a huge header (exit 130)', async (t) => {
  const dir = tempDir(t);
  const file = bigVocabGguf(dir, 3_000_000);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    // quantize reads the header once to check its input, reports its detect step on stderr, then
    // reads the header again: the signal arrives while that second read is under way, and must
    // stop it well before it could have finished (the first read took readMs).
    const started = Date.now();
    const child = spawn(process.execPath, [CLI, 'quantize', file, '-o', path.join(dir, 'out')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let signalled = 0;
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      if (!signalled && stderr.includes('detect')) {
        signalled = Date.now();
        child.kill(signal);
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    const readMs = signalled - started;
    const stopMs = Date.now() - signalled;
    assert.ok(signalled > 0, `${signal}: the run reached its detect step: ${stderr}`);
    assert.equal(code, 130, `${signal}: ${stderr}`);
    assert.match(stderr, /cancell/i);
    assert.ok(stopMs < Math.min(10_000, readMs / 2), `${signal}: stopped ${stopMs} ms after the signal; one header read took ${readMs} ms`);
  }
});
