/**
 * `pajamas convert` as a user runs it (the built CLI in a child process): --json prints one JSON
 * document; malformed input exits 3, an unsupported architecture 4, bad arguments 2, and none of
 * them leaves an output file (or a temporary one) behind.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, test, type TestContext } from 'node:test';
import { buildTinyModel, type TinyArch } from '../../fixtures/models/tiny-models';
import { projectRoot } from '../../helpers/env';

const CLI = path.join(projectRoot, 'bin', 'pajamas.js');

function pajamas(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: projectRoot, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

before(() => {
  const build = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: projectRoot, encoding: 'utf8' });
  assert.equal(build.status, 0, build.stderr);
});

function model(t: TestContext, arch: TinyArch = 'llama') {
  const m = buildTinyModel(arch, { dtype: 'BF16' });
  t.after(() => rmSync(m.dir, { recursive: true, force: true }));
  return { ...m, out: path.join(m.dir, 'out.gguf') };
}

function assertNoOutput(dir: string, out: string): void {
  assert.equal(existsSync(out), false, 'an output file was left behind');
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.endsWith('.partial')),
    [],
  );
}

test('convert --json: one JSON document on stdout, the GGUF on disk', (t) => {
  const m = model(t, 'qwen2_moe');
  const r = pajamas('convert', m.dir, '-o', m.out, '--outtype', 'bf16', '--json');
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { outPath: string; architecture: string; outType: string; bytes: number };
  assert.equal(doc.architecture, 'qwen2moe');
  assert.equal(doc.outType, 'bf16');
  assert.equal(doc.bytes, statSync(m.out).size);
  assert.equal(readFileSync(m.out).subarray(0, 4).toString('latin1'), 'GGUF');
});

test('a truncated safetensors file: exit 3, the message names the file, no output', (t) => {
  const m = model(t);
  const st = path.join(m.dir, 'model.safetensors');
  truncateSync(st, statSync(st).size - 10);
  const r = pajamas('convert', m.dir, '-o', m.out);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /model\.safetensors/);
  assertNoOutput(m.dir, m.out);
});

test('a corrupted safetensors header: exit 3, no output', (t) => {
  const m = model(t);
  const st = path.join(m.dir, 'model.safetensors');
  const bytes = readFileSync(st);
  bytes.write('!!!!', 8, 'latin1'); // the JSON header no longer parses
  writeFileSync(st, bytes);
  const r = pajamas('convert', m.dir, '-o', m.out);
  assert.equal(r.code, 3, r.stderr);
  assertNoOutput(m.dir, m.out);
});

test('a missing tokenizer: exit 3 with what to do, no output', (t) => {
  const m = model(t);
  unlinkSync(path.join(m.dir, 'tokenizer.model'));
  const r = pajamas('convert', m.dir, '-o', m.out);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /tokenizer\.model or tokenizer\.json/);
  assertNoOutput(m.dir, m.out);
});

test('a config that disagrees with the weights: exit 3 naming the tensor, no output', (t) => {
  const m = model(t);
  const file = path.join(m.dir, 'config.json');
  writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), intermediate_size: 128 }));
  const r = pajamas('convert', m.dir, '-o', m.out);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /gate_proj\.weight has shape \[96, 64\].*intermediate_size 128/);
  assertNoOutput(m.dir, m.out);
});

test('an unsupported architecture: exit 4 listing the supported ones', (t) => {
  const m = model(t);
  const file = path.join(m.dir, 'config.json');
  writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), model_type: 'falcon_mamba' }));
  const r = pajamas('convert', m.dir, '-o', m.out);
  assert.equal(r.code, 4);
  assert.match(
    r.stderr,
    new RegExp(
      'falcon_mamba.*Supported model types: ' +
        'llama, mistral, mixtral, qwen2, qwen3, qwen2_moe, qwen3_moe, gemma2, gemma3, gemma3_text, phi3, gpt_oss',
    ),
  );
  assertNoOutput(m.dir, m.out);
});

test('usage errors exit 2', (t) => {
  const m = model(t);
  assert.equal(pajamas('convert', m.dir).code, 2);
  assert.equal(pajamas('convert', m.dir, '-o', m.out, '--outtype', 'q4_0').code, 2);
  assert.equal(pajamas('convert', '-o', m.out).code, 2);
  assertNoOutput(m.dir, m.out);
});
