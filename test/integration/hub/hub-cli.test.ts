/**
 * The Hub from the CLI, as a user types it, against a test Hub on 127.0.0.1 serving a repo made
 * from ../shared/models/pajama-tiny-gqa (plus the files a conversion must not fetch): quantize by
 * repo id end to end (download inside), download / detect / plan by repo id from the cache, the
 * manifest's source, errors with their exit codes, and the token kept out of every output.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { repoFolderName } from '../../../src/core/hf/cache';
import { verifyManifest } from '../../../src/core/manifest/verify';
import { FIXTURE_COMMIT, repoFromFolder } from '../../fixtures/hub-repo';
import { tempDir } from '../../fixtures/bytes';
import { projectRoot, sharedAsset } from '../../helpers/env';
import { startHubServer, type HubServer } from '../../helpers/hub-server';
import { llamaToolsOrSkip } from '../../helpers/llama-tools';

const CLI = path.join(projectRoot, 'bin', 'pajamas.js');
const REPO = 'pajamas-test/pajama-tiny-gqa';
const TOKEN = 'hf_IntegrationSecret0123456789';

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The built CLI in a child process (asynchronously: the test Hub answers from this process). */
function pajamas(env: Record<string, string>, ...args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: projectRoot,
      env: { ...process.env, HF_TOKEN: '', HUGGING_FACE_HUB_TOKEN: '', HF_TOKEN_PATH: '/nonexistent/token', HF_HUB_OFFLINE: '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function hubFor(t: TestContext): Promise<{ server: HubServer; env: Record<string, string>; cache: string } | undefined> {
  const model = sharedAsset(t, 'models/pajama-tiny-gqa');
  if (!model) return undefined;
  const server = await startHubServer({ repos: [repoFromFolder(REPO, model)], token: TOKEN });
  t.after(() => server.close());
  const cache = tempDir(t);
  return { server, cache, env: { HF_ENDPOINT: server.url, HF_HUB_CACHE: cache, HF_TOKEN: TOKEN } };
}

function assertNoToken(...texts: string[]): void {
  for (const text of texts) assert.ok(!text.includes(TOKEN), 'the token never appears in output, logs or files');
}

test('quantize by repo id: downloads into the HF cache, records repo, revision and commit, keeps the token out', async (t) => {
  const hub = await hubFor(t);
  if (!hub || !(await llamaToolsOrSkip(t))) return;
  const out = path.join(tempDir(t), 'out');
  const r = await pajamas(hub.env, 'quantize', REPO, '-o', out, '--formats', 'gguf', '--imatrix', 'off', '--no-eval', '--json');
  assert.equal(r.code, 0, r.stderr);
  const manifest = JSON.parse(r.stdout) as { model: string; source: Record<string, unknown>; artifacts: { path: string }[] };
  assert.equal(manifest.model, 'pajama-tiny-gqa');
  assert.equal(manifest.source.kind, 'hub');
  assert.equal(manifest.source.repoId, REPO);
  assert.equal(manifest.source.revision, 'main');
  assert.equal(manifest.source.commit, FIXTURE_COMMIT);
  assert.equal(manifest.source.path, path.join(hub.cache, repoFolderName(REPO), 'snapshots', FIXTURE_COMMIT));
  const files = (manifest.source.files as { path: string; sha256: string }[]).map((f) => f.path).sort();
  assert.deepEqual(files, [
    'config.json',
    'generation_config.json',
    'model.safetensors',
    'special_tokens_map.json',
    'tokenizer.model',
    'tokenizer_config.json',
  ]);
  assert.ok(existsSync(path.join(out, manifest.artifacts[0]!.path)));
  assert.deepEqual((await verifyManifest(path.join(out, 'manifest.json'))).problems, []);
  assertNoToken(r.stdout, r.stderr, readFileSync(path.join(out, 'manifest.json'), 'utf8'));
  assert.ok(!hub.server.requests.some((q) => /README|pytorch_model|original\/|onnx\//.test(q.path)), 'only what a conversion needs');

  // Detect and plan by repo id now read the cached snapshot (weights included), without the network.
  hub.server.requests.length = 0;
  const detect = await pajamas(hub.env, 'detect', REPO, '--json');
  assert.equal(detect.code, 0, detect.stderr);
  const info = JSON.parse(detect.stdout) as { parametersSource: string; source: string };
  assert.equal(info.parametersSource, 'weights');
  assert.equal(info.source, REPO);
  const plan = await pajamas(hub.env, 'plan', REPO, '--json');
  assert.equal(plan.code, 0, plan.stderr);
  assert.equal((JSON.parse(plan.stdout) as { tensorSource: string }).tensorSource, 'weights');
  assert.deepEqual(hub.server.requests, [], 'detect and plan of a cached repo ask the Hub nothing');
});

test('pajamas download: the cache layout, a second run that fetches nothing, and its JSON', async (t) => {
  const hub = await hubFor(t);
  if (!hub) return;
  const first = await pajamas(hub.env, 'download', REPO);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, new RegExp(`${REPO}@main = ${FIXTURE_COMMIT}: 6 files, .*downloaded`));
  const snapshot = path.join(hub.cache, repoFolderName(REPO), 'snapshots', FIXTURE_COMMIT);
  assert.equal(first.stdout.trim().split('\n').at(-1), snapshot);
  assert.equal(readFileSync(path.join(hub.cache, repoFolderName(REPO), 'refs', 'main'), 'utf8'), FIXTURE_COMMIT);
  assert.ok(readdirSync(snapshot).includes('model.safetensors'));
  hub.server.requests.length = 0;
  const again = await pajamas(hub.env, 'download', REPO, '--json');
  assert.equal(again.code, 0, again.stderr);
  assert.equal((JSON.parse(again.stdout) as { downloadedBytes: number }).downloadedBytes, 0);
  assert.deepEqual(hub.server.fileTransfers(), []);
  assertNoToken(first.stdout, first.stderr, again.stdout, again.stderr);
});

test('errors from the CLI: no token, an unknown repo, a bad revision, an unreachable Hub', async (t) => {
  const hub = await hubFor(t);
  if (!hub) return;
  const noToken = await pajamas({ ...hub.env, HF_TOKEN: '' }, 'download', REPO);
  assert.equal(noToken.code, 1);
  assert.match(noToken.stderr, /401 Unauthorized for pajamas-test\/pajama-tiny-gqa: .*set HF_TOKEN/);
  const missing = await pajamas(hub.env, 'quantize', 'pajamas-test/nothing-here', '-o', tempDir(t));
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /pajamas-test\/nothing-here does not exist on/);
  const badRevision = await pajamas(hub.env, 'download', `${REPO}@v9`);
  assert.match(badRevision.stderr, /has no revision "v9"/);
  const usage = await pajamas(hub.env, 'download', 'not a repo');
  assert.equal(usage.code, 2);
  const offline = await pajamas({ ...hub.env, HF_ENDPOINT: 'http://127.0.0.1:1' }, 'download', REPO);
  assert.equal(offline.code, 1);
  assert.match(offline.stderr, /cannot reach the Hugging Face Hub at http:\/\/127.0.0.1:1 .*pajamas-test\/pajama-tiny-gqa/);
  assertNoToken(noToken.stderr, missing.stderr, badRevision.stderr, offline.stderr);
});
