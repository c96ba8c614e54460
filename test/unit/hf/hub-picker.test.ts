/** What "Add Model from the Hub..." and the tree's Delete use: search, the fit check, deletion. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { HubError, UsageError } from '../../../src/core/errors';
import { deleteCachedModel } from '../../../src/core/hf/cache-delete';
import { listCachedModels, repoCachePath, repoLockPath } from '../../../src/core/hf/cache';
import { checkHubModelFit } from '../../../src/core/hf/hub-fit';
import { downloadHubModel } from '../../../src/core/hf/hub-download';
import { searchHubModels } from '../../../src/core/hf/hub-search';
import { tempDir } from '../../fixtures/bytes';
import { FIXTURE_COMMIT, syntheticRepo } from '../../fixtures/hub-repo';
import { startHubServer } from '../../helpers/hub-server';

for (const name of ['HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN', 'HF_ENDPOINT', 'HF_HUB_OFFLINE']) delete process.env[name];
process.env.HF_TOKEN_PATH = '/nonexistent/pajamas-test-token';

const single = syntheticRepo('pajamas-test/tiny-llama');
const sharded = syntheticRepo('pajamas-test/tiny-sharded', { sharded: true });

async function hub(t: TestContext, forbidden: string[] = []) {
  const server = await startHubServer({ repos: [single, sharded], forbidden });
  t.after(() => server.close());
  return { server, access: { endpoint: server.url, cacheDir: tempDir(t) } };
}

describe('searchHubModels', () => {
  it('finds repos by name with what the picker shows', async (t) => {
    const { access, server } = await hub(t, ['pajamas-test/tiny-sharded']);
    const found = await searchHubModels('tiny', { hub: access });
    assert.deepEqual(
      found.map((m) => [m.repoId, m.gated, m.safetensors]),
      [
        ['pajamas-test/tiny-llama', false, true],
        ['pajamas-test/tiny-sharded', 'manual', true],
      ],
    );
    const asked = server.requests.find((r) => r.path === '/api/models');
    assert.ok(asked, 'searched through the models endpoint');
    assert.deepEqual(await searchHubModels('nothing-like-this', { hub: access }), []);
  });
});

describe('checkHubModelFit', () => {
  it('sizes the download from the listing (shards the index names), and checks disk and memory', async (t) => {
    const { access, server } = await hub(t);
    const fit = await checkHubModelFit('pajamas-test/tiny-sharded', { hub: access, outDir: access.cacheDir });
    const shards = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
    const expected = [
      'added_tokens.json',
      'config.json',
      'generation_config.json',
      'model.safetensors.index.json',
      'tokenizer.json',
      'tokenizer_config.json',
      ...shards,
    ];
    assert.equal(fit.commit, FIXTURE_COMMIT);
    assert.equal(fit.files, expected.length);
    assert.equal(
      fit.totalBytes,
      expected.reduce((n, f) => n + sharded.files[f]!.length, 0),
    );
    assert.equal(fit.downloadBytes, fit.totalBytes, 'nothing cached yet');
    assert.ok(fit.parameters > 0);
    assert.ok(fit.disk.fits && fit.ram.fits, 'a tiny model fits');
    assert.ok(fit.disk.neededBytes >= fit.downloadBytes);
    assert.ok(!existsSync(repoCachePath('pajamas-test/tiny-sharded', access.cacheDir)), 'the check writes nothing to the cache');
    assert.deepEqual(
      server.fileTransfers().filter((r) => r.path.includes('safetensors') && !r.path.includes('index')),
      [],
      'no weights were read',
    );
    await downloadHubModel('pajamas-test/tiny-sharded', { hub: access });
    assert.equal((await checkHubModelFit('pajamas-test/tiny-sharded', { hub: access })).downloadBytes, 0, 'cached: nothing to download');
  });

  it('fails like a download does for a repo it cannot see', async (t) => {
    const { access } = await hub(t, ['pajamas-test/tiny-llama']);
    await assert.rejects(
      checkHubModelFit('pajamas-test/tiny-llama', { hub: access }),
      (e: unknown) => e instanceof HubError && e.reason === 'forbidden',
    );
  });
});

describe('deleteCachedModel', () => {
  it('removes the repo folder and its lock folder, leaves other repos, and returns the bytes freed', async (t) => {
    const { access } = await hub(t);
    const a = await downloadHubModel('pajamas-test/tiny-llama', { hub: access });
    await downloadHubModel('pajamas-test/tiny-sharded', { hub: access });
    writeFileSync(
      path.join(repoCachePath('pajamas-test/tiny-llama', access.cacheDir), 'blobs', `${'f'.repeat(64)}.incomplete`),
      'x'.repeat(10),
    );
    assert.equal(await deleteCachedModel('pajamas-test/tiny-llama', access), a.totalBytes + 10);
    assert.deepEqual(
      (await listCachedModels({ cacheDir: access.cacheDir })).map((m) => m.repoId),
      ['pajamas-test/tiny-sharded'],
    );
    assert.ok(!existsSync(path.dirname(repoLockPath('pajamas-test/tiny-llama', access.cacheDir))));
    assert.equal(await deleteCachedModel('pajamas-test/tiny-llama', access), 0, 'deleting twice is a no-op');
    await assert.rejects(deleteCachedModel('../etc', access), UsageError);
  });

  it('refuses while a download of the repo holds its lock', async (t) => {
    const { access } = await hub(t);
    await downloadHubModel('pajamas-test/tiny-llama', { hub: access });
    const lock = repoLockPath('pajamas-test/tiny-llama', access.cacheDir);
    mkdirSync(path.dirname(lock), { recursive: true });
    writeFileSync(
      lock,
      JSON.stringify({ pid: process.pid, hostname: (await import('node:os')).hostname(), startedAt: 'now', purpose: 'download' }),
    );
    await assert.rejects(deleteCachedModel('pajamas-test/tiny-llama', access), /is being downloaded right now/);
    assert.ok(existsSync(repoCachePath('pajamas-test/tiny-llama', access.cacheDir)), 'nothing deleted');
  });
});
