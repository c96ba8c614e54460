import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import path from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { CancelledError, FailureError, HubError } from '../../../src/core/errors';
import { listCachedModels, repoFolderName } from '../../../src/core/hf/cache';
import { downloadHubModel, type HubDownloadOptions } from '../../../src/core/hf/hub-download';
import { FIXTURE_COMMIT, syntheticRepo } from '../../fixtures/hub-repo';
import { tempDir } from '../../fixtures/bytes';
import { gitBlobSha1, startHubServer, type HubServer } from '../../helpers/hub-server';

const REPO = 'pajamas-test/tiny-llama';
const SHARDED = 'pajamas-test/tiny-sharded';
const TOKEN = 'hf_TestSecretToken0123456789';
const CONVERSION = [
  'added_tokens.json',
  'config.json',
  'generation_config.json',
  'model.safetensors',
  'tokenizer.json',
  'tokenizer_config.json',
];

// Hermetic: no token or endpoint from the developer's environment.
for (const name of ['HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN', 'HF_ENDPOINT', 'HF_HUB_OFFLINE']) delete process.env[name];
process.env.HF_TOKEN_PATH = '/nonexistent/pajamas-test-token';

const repo = syntheticRepo(REPO);
const sharded = syntheticRepo(SHARDED, { sharded: true });
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Fixture {
  server: HubServer;
  cache: string;
  options(extra?: HubDownloadOptions): HubDownloadOptions;
  /** Forgets the requests seen so far. */
  reset(): void;
}

/** A test Hub of its own and an empty cache for one test. */
async function fixture(t: TestContext): Promise<Fixture> {
  const server = await startHubServer({ repos: [repo, sharded], pageSize: 4 });
  t.after(() => server.close());
  const cache = tempDir(t);
  return {
    server,
    cache,
    options: (extra = {}) => ({ hub: { endpoint: server.url, cacheDir: cache }, retryDelayMs: 5, ...extra }),
    reset: () => void (server.requests.length = 0),
  };
}

/** A port nothing listens on (one the OS just gave out and took back). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe('downloadHubModel', () => {
  it('writes the documented cache layout: blobs by etag, relative snapshot links, refs/main, only what a conversion needs', async (t) => {
    const { server, cache, options } = await fixture(t);
    const progress: number[] = [];
    const snap = await downloadHubModel(REPO, options({ onProgress: (p) => progress.push(p.done ?? 0) }));
    const repoDir = path.join(cache, `models--pajamas-test--tiny-llama`);
    assert.equal(snap.commit, FIXTURE_COMMIT);
    assert.equal(snap.path, path.join(repoDir, 'snapshots', FIXTURE_COMMIT));
    assert.equal(snap.origin, 'hub');
    assert.deepEqual(readdirSync(snap.path).sort(), CONVERSION);
    assert.equal(readFileSync(path.join(repoDir, 'refs', 'main'), 'utf8'), FIXTURE_COMMIT);
    for (const name of CONVERSION) {
      const content = repo.files[name]!;
      const isLfs = name.endsWith('.safetensors');
      const blob = isLfs ? sha256(content) : gitBlobSha1(content);
      const link = path.join(snap.path, name);
      assert.ok(lstatSync(link).isSymbolicLink(), `${name} is a symlink`);
      assert.equal(readlinkSync(link), `../../blobs/${blob}`, `${name} links relatively to its blob`);
      assert.deepEqual(readFileSync(link), content);
      assert.equal(snap.files.find((f) => f.path === name)?.sha256, isLfs ? blob : null);
    }
    assert.deepEqual(
      readdirSync(path.join(repoDir, 'blobs')).filter((n) => n.endsWith('.incomplete')),
      [],
    );
    assert.equal(snap.downloadedBytes, snap.totalBytes);
    assert.equal(progress.at(-1), snap.totalBytes, 'progress ends at the total');
    assert.equal(
      snap.totalBytes,
      CONVERSION.reduce((n, f) => n + repo.files[f]!.length, 0),
    );
    const asked = server.requests.map((r) => r.path).join('\n');
    for (const unwanted of ['README.md', 'pytorch_model.bin', 'original/', 'onnx/'])
      assert.ok(!asked.includes(unwanted), `never asks for ${unwanted}`);
    const [listed] = await listCachedModels({ cacheDir: cache });
    assert.equal(listed!.repoId, REPO);
    assert.deepEqual(listed!.refs, { main: FIXTURE_COMMIT });
    assert.equal(listed!.sizeBytes, snap.totalBytes);
  });

  it('fetches nothing the second time, and reuses blobs another tool put in the cache', async (t) => {
    const { server, options, reset } = await fixture(t);
    await downloadHubModel(REPO, options());
    reset();
    const again = await downloadHubModel(REPO, options());
    assert.equal(again.downloadedBytes, 0);
    assert.deepEqual(server.fileTransfers(), []);

    // A cache where Python downloaded the weights blob only (no snapshot link yet): reused, not fetched.
    const other = tempDir(t);
    const weights = repo.files['model.safetensors']!;
    const blobs = path.join(other, repoFolderName(REPO), 'blobs');
    mkdirSync(blobs, { recursive: true });
    writeFileSync(path.join(blobs, sha256(weights)), weights);
    reset();
    const reused = await downloadHubModel(REPO, { hub: { endpoint: server.url, cacheDir: other } });
    assert.equal(reused.downloadedBytes, reused.totalBytes - weights.length);
    assert.ok(!server.requests.some((r) => r.origin === 'cdn' && r.range !== 'bytes=0-0'), 'the weights were not downloaded');
  });

  it('downloads the shards an index names (not a stray consolidated file), through a paginated tree listing', async (t) => {
    const { server, options } = await fixture(t);
    const snap = await downloadHubModel(SHARDED, options());
    const names = readdirSync(snap.path).sort();
    assert.ok(names.includes('model.safetensors.index.json'));
    assert.ok(names.includes('model-00001-of-00002.safetensors') && names.includes('model-00002-of-00002.safetensors'));
    assert.ok(!names.includes('consolidated.safetensors'));
    assert.ok(server.requests.filter((r) => r.path.includes('/tree/')).length > 1, 'the tree listing took several pages');
    server.requests.length = 0;
    assert.equal((await downloadHubModel(SHARDED, options())).downloadedBytes, 0);
    assert.deepEqual(server.fileTransfers(), [], 'the second download fetches nothing, the index included');
  });

  it('links files in subfolders one ../ deeper, and takes extra files by glob', async (t) => {
    const { cache, options } = await fixture(t);
    const snap = await downloadHubModel(REPO, options({ include: ['original/*.json'] }));
    const link = path.join(snap.path, 'original', 'params.json');
    assert.equal(readlinkSync(link), `../../../blobs/${gitBlobSha1(repo.files['original/params.json']!)}`);
    assert.equal(readFileSync(link, 'utf8'), '{"dim": 64}');
    const [listed] = await listCachedModels({ cacheDir: cache });
    assert.ok(listed!.snapshots[0]!.files.some((f) => f.path === 'original/params.json'));
    await assert.rejects(downloadHubModel(REPO, options({ include: ['nothing/*.bin'] })), /no file of pajamas-test\/tiny-llama matches/);
  });

  it('resumes with a Range request when the server cuts the connection mid-file', async (t) => {
    const { server, options } = await fixture(t);
    const weights = repo.files['model.safetensors']!;
    server.faults.cut = { path: 'model.safetensors', afterBytes: 100_000, times: 2 };
    const logs: string[] = [];
    const snap = await downloadHubModel(REPO, options({ log: (l) => logs.push(l) }));
    assert.deepEqual(readFileSync(path.join(snap.path, 'model.safetensors')), weights);
    const ranges = server.requests.filter((r) => r.origin === 'cdn' && r.range && r.range !== 'bytes=0-0').map((r) => r.range);
    assert.ok(ranges.length >= 1, 'a ranged request continued the file');
    assert.ok(
      ranges.every((r) => !r!.startsWith('bytes=0-')),
      `never restarted from zero: ${ranges.join(', ')}`,
    );
    assert.ok(logs.some((l) => /connection lost at \d+ of \d+ bytes/.test(l)));
    assert.ok(snap.downloadedBytes < snap.totalBytes + 1000, 'no byte fetched twice');
  });

  it('leaves only an .incomplete file when cancelled, and the next run resumes it', async (t) => {
    const { server, cache, options, reset } = await fixture(t);
    const weights = repo.files['model.safetensors']!;
    server.faults.stall = { path: 'model.safetensors', afterBytes: 120_000, times: 1 };
    const controller = new AbortController();
    const repoDir = path.join(cache, repoFolderName(REPO));
    const partial = path.join(repoDir, 'blobs', `${sha256(weights)}.incomplete`);
    const run = downloadHubModel(REPO, options({ concurrency: 1, signal: controller.signal }));
    // The user cancels while the transfer hangs at 120,000 bytes.
    while (!existsSync(partial) || statSync(partial).size < 120_000) await delay(20);
    controller.abort();
    await assert.rejects(run, CancelledError);
    assert.ok(!existsSync(path.join(repoDir, 'snapshots')), 'no snapshot after a cancel');
    assert.equal(readFileSync(partial).length, 120_000);
    const [listed] = await listCachedModels({ cacheDir: cache });
    assert.equal(listed!.incompleteBytes, 120_000);
    reset();
    const snap = await downloadHubModel(REPO, options());
    assert.deepEqual(readFileSync(path.join(snap.path, 'model.safetensors')), weights);
    const ranges = server.requests.filter((r) => r.origin === 'cdn' && r.range !== 'bytes=0-0').map((r) => r.range);
    assert.deepEqual(ranges, [`bytes=120000-${weights.length - 1}`]);
    assert.equal(snap.downloadedBytes, snap.totalBytes - 120_000);
  });

  it('resumes after a stalled connection (no data for the stall timeout)', async (t) => {
    const { server, options } = await fixture(t);
    server.faults.stall = { path: 'model.safetensors', afterBytes: 50_000, times: 1 };
    const snap = await downloadHubModel(REPO, options({ stallTimeoutMs: 300 }));
    assert.deepEqual(readFileSync(path.join(snap.path, 'model.safetensors')), repo.files['model.safetensors']);
    assert.ok(server.requests.some((r) => r.range === `bytes=50000-${repo.files['model.safetensors']!.length - 1}`));
  });

  it('starts a file over when the server ignores Range, and still verifies it', async (t) => {
    const { server, cache, options } = await fixture(t);
    const weights = repo.files['model.safetensors']!;
    const blobs = path.join(cache, repoFolderName(REPO), 'blobs');
    mkdirSync(blobs, { recursive: true });
    writeFileSync(path.join(blobs, `${sha256(weights)}.incomplete`), weights.subarray(0, 1000));
    server.faults.ignoreRange = true;
    const logs: string[] = [];
    const snap = await downloadHubModel(REPO, options({ log: (l) => logs.push(l) }));
    assert.deepEqual(readFileSync(path.join(snap.path, 'model.safetensors')), weights);
    assert.ok(logs.some((l) => /did not resume at byte 1000/.test(l)));
  });

  it('fails the hash check on a corrupted byte: nothing lands in snapshots/, the partial file is gone', async (t) => {
    const { server, cache, options } = await fixture(t);
    server.faults.corrupt = { path: 'model.safetensors', offset: 4242 };
    await assert.rejects(
      downloadHubModel(REPO, options()),
      (e: unknown) =>
        e instanceof HubError &&
        e.reason === 'integrity' &&
        /model\.safetensors of pajamas-test\/tiny-llama arrived corrupted/.test(e.message) &&
        /LFS sha256/.test(e.message),
    );
    const repoDir = path.join(cache, repoFolderName(REPO));
    assert.ok(!existsSync(path.join(repoDir, 'snapshots')), 'no snapshot');
    assert.ok(!existsSync(path.join(repoDir, 'refs')), 'no ref');
    const blobNames = readdirSync(path.join(repoDir, 'blobs'));
    assert.ok(
      !blobNames.some((n) => n.startsWith(sha256(repo.files['model.safetensors']!))),
      'neither blob nor .incomplete of the corrupted file',
    );
    delete server.faults.corrupt;
    const snap = await downloadHubModel(REPO, options());
    assert.deepEqual(readFileSync(path.join(snap.path, 'model.safetensors')), repo.files['model.safetensors']);
  });

  it('two downloads of the same repo at once: one waits for the other, and nothing is fetched twice', async (t) => {
    const { server, options } = await fixture(t);
    const logs: string[] = [];
    const [a, b] = await Promise.all([downloadHubModel(REPO, options()), downloadHubModel(REPO, options({ log: (l) => logs.push(l) }))]);
    assert.equal(a.path, b.path);
    assert.equal(a.downloadedBytes + b.downloadedBytes, a.totalBytes, 'every byte came once');
    const weights = server.requests.filter((r) => r.origin === 'cdn' && r.range !== 'bytes=0-0');
    assert.equal(weights.length, 1, 'the weights were fetched once');
  });

  it('checks free disk space first and says how much is missing', async (t) => {
    const { server, options } = await fixture(t);
    await assert.rejects(
      downloadHubModel(REPO, options({ freeSpace: async () => 1000 })),
      (e: unknown) =>
        e instanceof FailureError &&
        /not enough free disk space/.test(e.message) &&
        /short/.test(e.message) &&
        /pajamas-test\/tiny-llama/.test(e.message),
    );
    assert.deepEqual(server.fileTransfers(), [], 'nothing downloaded');
  });

  it('refuses a listed path that would leave the snapshot', async (t) => {
    const { cache } = await fixture(t);
    const evil = await startHubServer({ repos: [{ ...repo, files: { ...repo.files, 'a/../../escape.json': Buffer.from('{}') } }] });
    t.after(() => evil.close());
    await assert.rejects(
      downloadHubModel(REPO, { hub: { endpoint: evil.url, cacheDir: cache }, include: ['**.json'] }),
      (e: unknown) => e instanceof HubError && /unsafe path/.test(e.message),
    );
  });
});

describe('downloadHubModel errors', () => {
  it('401 without a token, 401 with a bad one, 403 gated, 404 repo, 404 revision: each names the repo, never the token', async (t) => {
    const { server, cache } = await fixture(t);
    const locked = await startHubServer({ repos: [repo], token: TOKEN });
    const gated = await startHubServer({ repos: [repo], forbidden: [REPO] });
    t.after(() => Promise.all([locked.close(), gated.close()]));
    const cases: Array<[string, HubDownloadOptions, string, RegExp]> = [
      [
        REPO,
        { hub: { endpoint: locked.url, cacheDir: cache } },
        'unauthorized',
        /401 Unauthorized for pajamas-test\/tiny-llama: it is private or gated, or does not exist; set HF_TOKEN/,
      ],
      [
        REPO,
        { hub: { endpoint: locked.url, cacheDir: cache, token: 'hf_wrong_token_123' } },
        'unauthorized',
        /the access token was refused/,
      ],
      [
        REPO,
        { hub: { endpoint: gated.url, cacheDir: cache, token: TOKEN } },
        'forbidden',
        /403 Forbidden for pajamas-test\/tiny-llama: .*accept its terms at .*\/pajamas-test\/tiny-llama/,
      ],
      [
        'pajamas-test/no-such-model',
        { hub: { endpoint: server.url, cacheDir: cache, token: TOKEN } },
        'not-found',
        /pajamas-test\/no-such-model does not exist on/,
      ],
      [
        `${REPO}@no-such-branch`,
        { hub: { endpoint: server.url, cacheDir: cache, token: TOKEN } },
        'revision-not-found',
        /pajamas-test\/tiny-llama has no revision "no-such-branch"/,
      ],
    ];
    for (const [ref, opts, reason, message] of cases) {
      await assert.rejects(downloadHubModel(ref, opts), (e: unknown) => {
        assert.ok(e instanceof HubError, `${ref}: ${String(e)}`);
        assert.equal(e.reason, reason);
        assert.match(e.message, message);
        assert.ok(!e.message.includes(TOKEN) && !e.message.includes('hf_wrong_token_123'), 'the token is not in the message');
        assert.ok(!JSON.stringify(e.data).includes(TOKEN), 'nor in the data');
        return true;
      });
    }
    // With the right token the locked repo downloads, and the token never reached the CDN.
    locked.requests.length = 0;
    const snap = await downloadHubModel(REPO, { hub: { endpoint: locked.url, cacheDir: cache, token: TOKEN } });
    assert.ok(existsSync(path.join(snap.path, 'model.safetensors')));
    assert.ok(locked.requests.filter((r) => r.origin === 'hub').every((r) => r.authorized));
    assert.ok(
      locked.requests.filter((r) => r.origin === 'cdn').every((r) => !r.authorized),
      'no Authorization header on the CDN',
    );
  });

  it('unreachable host: a clear offline error, or the cached snapshot when one is complete (also under HF_HUB_OFFLINE)', async (t) => {
    const { cache, options } = await fixture(t);
    const port = await closedPort();
    const nowhere = { endpoint: `http://127.0.0.1:${port}`, cacheDir: cache };
    await assert.rejects(
      downloadHubModel(REPO, { hub: nowhere }),
      (e: unknown) =>
        e instanceof HubError &&
        e.reason === 'offline' &&
        e.message.includes(`cannot reach the Hugging Face Hub at http://127.0.0.1:${port} (ECONNREFUSED)`) &&
        /tiny-llama/.test(e.message),
    );
    await downloadHubModel(REPO, options());
    const logs: string[] = [];
    const cached = await downloadHubModel(REPO, { hub: nowhere, log: (l) => logs.push(l) });
    assert.equal(cached.origin, 'cache');
    assert.equal(cached.commit, FIXTURE_COMMIT);
    assert.ok(logs.some((l) => /using the cached snapshot/.test(l)));
    const offline = await downloadHubModel(REPO, { hub: { ...nowhere, offline: true } });
    assert.equal(offline.origin, 'cache');
    await assert.rejects(
      downloadHubModel(`${REPO}@v2`, { hub: { ...nowhere, offline: true } }),
      /HF_HUB_OFFLINE is set and pajamas-test\/tiny-llama@v2 is not in the cache/,
    );
  });

  it('an incomplete cached snapshot (a config without weights) does not count offline', async (t) => {
    const cache = tempDir(t);
    const repoDir = path.join(cache, repoFolderName(REPO));
    mkdirSync(path.join(repoDir, 'snapshots', FIXTURE_COMMIT), { recursive: true });
    mkdirSync(path.join(repoDir, 'blobs'), { recursive: true });
    mkdirSync(path.join(repoDir, 'refs'), { recursive: true });
    writeFileSync(path.join(repoDir, 'blobs', 'c'.repeat(40)), '{}');
    symlinkSync(`../../blobs/${'c'.repeat(40)}`, path.join(repoDir, 'snapshots', FIXTURE_COMMIT, 'config.json'));
    writeFileSync(path.join(repoDir, 'refs', 'main'), FIXTURE_COMMIT);
    await assert.rejects(
      downloadHubModel(REPO, { hub: { cacheDir: cache, offline: true } }),
      /is not in the cache .* with the files a conversion needs/,
    );
  });
});
