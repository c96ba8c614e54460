/**
 * The worker's Hub requests against the local test Hub: search, fit, the download as a job
 * (progress in bytes, cancel leaving only an .incomplete blob, a second download transferring
 * nothing), delete, and a private repo's 401 crossing the worker boundary as a HubError whose
 * `reason` the extension reads to offer "Set Hugging Face Token" (and never the token).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, it, type TestContext } from 'node:test';
import { CancelledError, type HubError } from '../../../src/core/errors';
import { repoCachePath } from '../../../src/core/hf/cache';
import type { Progress } from '../../../src/core/job';
import { isWorkerErrorData } from '../../../src/protocol/errors';
import { handled } from '../../../src/server/errors';
import { hubDelete, hubDownload, hubFit, hubSearch } from '../../../src/server/hub';
import { JobRegistry } from '../../../src/server/jobs';
import { tempDir } from '../../fixtures/bytes';
import { FIXTURE_COMMIT, syntheticRepo } from '../../fixtures/hub-repo';
import { startHubServer } from '../../helpers/hub-server';

for (const name of ['HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN', 'HF_ENDPOINT', 'HF_HUB_OFFLINE']) delete process.env[name];
process.env.HF_TOKEN_PATH = '/nonexistent/pajamas-test-token';

const REPO = 'pajamas-test/tiny-llama';
const PRIVATE = 'pajamas-test/private-llama';
const TOKEN = 'hf_WorkerTestToken0123456789';
const repo = syntheticRepo(REPO);

async function fixture(t: TestContext) {
  const server = await startHubServer({ repos: [repo, syntheticRepo(PRIVATE)], private: [PRIVATE], token: undefined });
  t.after(() => server.close());
  const hub = { endpoint: server.url, cacheDir: tempDir(t) };
  const progress: Progress[] = [];
  const logs: string[] = [];
  const jobs = new JobRegistry({ progress: (_id, p) => progress.push(p), log: (_id, line) => logs.push(line) });
  return { server, hub, jobs, progress, logs };
}

describe('worker: Hub requests', () => {
  it('search and fit answer what the picker shows', async (t) => {
    const { hub } = await fixture(t);
    const found = await hubSearch({ query: 'tiny' }, undefined, hub);
    assert.deepEqual(
      found.map((r) => r.repoId),
      [REPO],
    );
    assert.equal(found[0]!.downloads, 100);
    const fit = await hubFit({ repo: REPO, outDir: hub.cacheDir }, undefined, hub);
    assert.equal(fit.commit, FIXTURE_COMMIT);
    assert.equal(fit.downloadBytes, fit.totalBytes);
    assert.ok(fit.totalBytes > 300_000, `the weights are counted: ${fit.totalBytes}`);
    assert.equal(typeof fit.disk.fits, 'boolean');
  });

  it('downloads as a job with byte progress; a second download transfers nothing; delete frees it', async (t) => {
    const { hub, jobs, progress, server } = await fixture(t);
    const result = await hubDownload(jobs, { jobId: 'd1', repo: REPO }, undefined, hub);
    assert.equal(result.commit, FIXTURE_COMMIT);
    assert.equal(result.path, path.join(repoCachePath(REPO, hub.cacheDir), 'snapshots', FIXTURE_COMMIT));
    assert.deepEqual(readFileSync(path.join(result.path, 'model.safetensors')), repo.files['model.safetensors']);
    assert.equal(result.downloadedBytes, result.totalBytes);
    const last = progress.at(-1)!;
    assert.deepEqual([last.unit, last.done, last.total], ['bytes', result.totalBytes, result.totalBytes]);
    assert.deepEqual(jobs.running(), []);

    const transfers = server.fileTransfers().length;
    const again = await hubDownload(jobs, { jobId: 'd2', repo: REPO }, undefined, hub);
    assert.equal(again.downloadedBytes, 0);
    assert.equal(server.fileTransfers().length, transfers, 'nothing fetched the second time');

    const { freedBytes } = await hubDelete({ repoId: REPO }, hub);
    assert.ok(freedBytes >= result.totalBytes, `freed ${freedBytes} of ${result.totalBytes}`);
    assert.ok(!existsSync(repoCachePath(REPO, hub.cacheDir)));
    assert.deepEqual(await hubDelete({ repoId: REPO }, hub), { freedBytes: 0 });
  });

  it('a cancelled download job rejects with CancelledError and leaves only an .incomplete blob', async (t) => {
    const { hub, jobs, progress, server } = await fixture(t);
    server.faults.stall = { path: 'model.safetensors', afterBytes: 100_000, times: 1 };
    const run = hubDownload(jobs, { jobId: 'c1', repo: REPO }, undefined, hub);
    while (!progress.some((p) => (p.done ?? 0) >= 100_000)) await delay(20);
    assert.deepEqual(
      jobs.running().map((j) => [j.jobId, j.method, j.folder]),
      [['c1', 'hubDownload', repoCachePath(REPO, hub.cacheDir)]],
    );
    assert.ok(jobs.cancel('c1'));
    await assert.rejects(run, CancelledError);
    const repoDir = repoCachePath(REPO, hub.cacheDir);
    assert.ok(!existsSync(path.join(repoDir, 'snapshots')), 'no snapshot after a cancel');
    const partial = readdirSync(path.join(repoDir, 'blobs')).filter((f) => f.endsWith('.incomplete'));
    assert.equal(partial.length, 1);
  });

  it("a private repo's 401 leaves the worker as a HubError with reason unauthorized, without the token", async (t) => {
    const { hub, jobs } = await fixture(t);
    const download = handled(() => hubDownload(jobs, { jobId: 'p1', repo: PRIVATE }, undefined, { ...hub, token: TOKEN }));
    const fit = handled(() => hubFit({ repo: PRIVATE }, undefined, hub));
    for (const request of [download, fit]) {
      const error = await request().then(
        () => assert.fail('a private repo without its token was served'),
        (e: unknown) => e as { message: string; data: unknown },
      );
      assert.ok(isWorkerErrorData(error.data), 'a worker error response');
      assert.equal(error.data.code, 'failure');
      assert.equal(error.data.details.reason, 'unauthorized');
      assert.equal(error.data.details.repo, PRIVATE);
      assert.match(error.message, new RegExp(PRIVATE));
      assert.ok(!JSON.stringify(error).includes(TOKEN), 'the token never leaves the worker');
    }
    await assert.rejects(hubFit({ repo: PRIVATE }, undefined, hub), (e: HubError) => e.reason === 'unauthorized');
  });
});
