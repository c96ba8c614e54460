import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { HubError, UsageError } from '../../../src/core/errors';
import { describeSource, resolveModelSource } from '../../../src/core/pipeline/source';
import { FIXTURE_COMMIT, syntheticRepo } from '../../fixtures/hub-repo';
import { startHubServer } from '../../helpers/hub-server';

async function folder(t: import('node:test').TestContext, files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pajamas-source-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  return dir;
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

test('the source is the files that make the model, hashed; unchanged files keep their recorded hash', async (t) => {
  const dir = await folder(t, {
    'config.json': '{}',
    'model.safetensors': 'weights',
    'tokenizer.json': 'tok',
    'README.md': 'docs',
    'model-Q4_K_M-pajamas.gguf': 'an output written into the folder',
    '.x.gguf.123-abcdef01.partial': 'temp',
  });
  const model = await resolveModelSource(dir);
  assert.equal(model.kind, 'hf-folder');
  const first = await describeSource(model, null);
  assert.deepEqual(
    first.files.map((f) => f.path),
    ['config.json', 'model.safetensors', 'tokenizer.json'],
  );
  assert.equal(first.files[1]!.sha256, sha('weights'));

  // Same size and mtime: the recorded hash is kept (here a deliberately wrong one proves it).
  const recorded = { ...first, files: first.files.map((f) => ({ ...f, sha256: f.path === 'config.json' ? 'f'.repeat(64) : f.sha256 })) };
  assert.equal((await describeSource(model, recorded)).files[0]!.sha256, 'f'.repeat(64));
  // A touched file is hashed again.
  await utimes(path.join(dir, 'config.json'), new Date(), new Date(Date.now() + 5000));
  assert.equal((await describeSource(model, recorded)).files[0]!.sha256, sha('{}'));
});

test('inputs that cannot be quantized are refused before any work', async (t) => {
  await assert.rejects(resolveModelSource(path.join(os.tmpdir(), 'no-such-model-here')), UsageError);
  // A repo id is downloaded; with the Hub unreachable and nothing cached, that says so.
  const cacheDir = await folder(t, {});
  await assert.rejects(
    resolveModelSource('Qwen/Qwen3-0.6B', { hub: { endpoint: 'http://127.0.0.1:1', cacheDir } }),
    (e: unknown) => e instanceof HubError && e.reason === 'offline' && /Qwen\/Qwen3-0\.6B/.test(e.message),
  );
  const noConfig = await folder(t, { 'model.safetensors': 'w' });
  await assert.rejects(resolveModelSource(noConfig), /has no config\.json/);
  const noWeights = await folder(t, { 'config.json': '{}' });
  await assert.rejects(resolveModelSource(noWeights), /has no \.safetensors weights/);
});

test('a Hub repo id: the snapshot folder, named by the repo; the source records repo, revision, commit and listed sha256s', async (t) => {
  const repo = syntheticRepo('pajamas-test/tiny-llama');
  const server = await startHubServer({ repos: [repo] });
  t.after(() => server.close());
  const cacheDir = await folder(t, {});
  const model = await resolveModelSource('pajamas-test/tiny-llama', { hub: { endpoint: server.url, cacheDir } });
  assert.equal(model.kind, 'hf-folder');
  assert.equal(model.name, 'tiny-llama');
  assert.equal(model.path, path.join(cacheDir, 'models--pajamas-test--tiny-llama', 'snapshots', FIXTURE_COMMIT));
  const source = await describeSource(model, null);
  assert.equal(source.kind, 'hub');
  assert.equal(source.repoId, 'pajamas-test/tiny-llama');
  assert.equal(source.revision, 'main');
  assert.equal(source.commit, FIXTURE_COMMIT);
  const weights = source.files.find((f) => f.path === 'model.safetensors')!;
  const listed = createHash('sha256').update(repo.files['model.safetensors']!).digest('hex');
  assert.equal(weights.sha256, listed);
  // The weights are not hashed again: the download verified them against this very hash.
  await writeFile(path.join(model.path, 'model.safetensors'), Buffer.alloc(repo.files['model.safetensors']!.length));
  assert.equal((await describeSource(model, null)).files.find((f) => f.path === 'model.safetensors')!.sha256, listed);
  assert.equal(
    source.files.find((f) => f.path === 'config.json')!.sha256,
    createHash('sha256').update(repo.files['config.json']!).digest('hex'),
  );
});
