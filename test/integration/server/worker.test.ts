/**
 * The worker (dist/server.js) over node IPC, as the extension starts it: the custom requests on the
 * shared tiny models, jobs with progress, cancel and the one-job-per-folder rule, errors that keep
 * their code, hover on config.json and diagnostics on manifest.json.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ResponseError } from 'vscode-languageserver-protocol/node';
import { isTempPath } from '../../../src/core/fs/atomic';
import { verifyManifest } from '../../../src/core/manifest/verify';
import { isWorkerErrorData } from '../../../src/protocol/errors';
import {
  CancelJobNotification,
  DetectRequest,
  ListModelsRequest,
  PlanRequest,
  QuantizeRequestType,
  VerifyRequest,
  WorkerInfoRequest,
} from '../../../src/protocol/worker';
import { ggufArtifactFor, manifestWith } from '../../fixtures/manifest';
import { sharedAsset } from '../../helpers/env';
import { llamaToolsOrSkip } from '../../helpers/llama-tools';
import { hover, openDocument, startWorker, type WorkerHandle } from './worker-harness';

async function withWorker(t: import('node:test').TestContext): Promise<WorkerHandle> {
  const w = await startWorker();
  t.after(() => w.stop());
  return w;
}

async function tempDir(t: import('node:test').TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pajamas-worker-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const messageText = (m: string | { value: string }) => (typeof m === 'string' ? m : m.value);

/** The PajamasError code a rejected request carries. */
async function rejectionCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (error) {
    assert.ok(error instanceof ResponseError, `not a ResponseError: ${String(error)}`);
    assert.ok(isWorkerErrorData(error.data), `no PajamasError data: ${JSON.stringify(error.data)}`);
    return error.data.code;
  }
  assert.fail('the request did not fail');
}

test('detect and plan a shared model through the worker', async (t) => {
  const model = sharedAsset(t, 'models/pajama-tiny-gqa');
  if (!model) return;
  const w = await withWorker(t);
  const arch = await w.connection.sendRequest(DetectRequest, { model });
  assert.equal(arch.modelType, 'llama');
  assert.equal(arch.attention, 'gqa');
  const planned = await w.connection.sendRequest(PlanRequest, { model, target: 'Q4_K_M', strategy: 'pajamas' });
  assert.equal(planned.origin, 'weights');
  assert.equal(planned.plan.target, 'Q4_K_M');
  assert.ok(planned.plan.tensors.length > 10);
  assert.ok(
    planned.plan.tensors.some((x) => x.ggufType !== x.stockType),
    'the pajamas plan differs from stock somewhere',
  );
  assert.match(planned.recommendation.ggufMethod, /^Q/);
});

test('errors keep their code and say what is wrong', async (t) => {
  const w = await withWorker(t);
  const dir = await tempDir(t);
  await writeFile(path.join(dir, 'config.json'), '{"model_type": "llama", "num_hidden_layers": ');
  assert.equal(await rejectionCode(w.connection.sendRequest(PlanRequest, { model: dir, target: 'Q4_K_M', strategy: 'pajamas' })), 'format');
  assert.equal(await rejectionCode(w.connection.sendRequest(DetectRequest, { model: path.join(dir, 'nothing-here') })), 'usage');
  const info = await w.connection.sendRequest(WorkerInfoRequest, {});
  assert.equal(info.pid, w.child.pid);
  assert.deepEqual(info.jobs, []);
});

test('listModels finds models and artifact folders, and skips what is not ours', async (t) => {
  const hf = sharedAsset(t, 'models/stories260K-hf');
  const gguf = sharedAsset(t, 'models/stories260K-gguf/stories260K.gguf');
  if (!hf || !gguf) return;
  const root = await tempDir(t);
  const model = path.join(root, 'models', 'stories');
  await mkdir(model, { recursive: true });
  for (const f of ['config.json', 'model.safetensors']) await copyFile(path.join(hf, f), path.join(model, f));
  await copyFile(gguf, path.join(root, 'stories260K.gguf'));
  await mkdir(path.join(root, 'webapp'));
  await writeFile(path.join(root, 'webapp', 'manifest.json'), '{"name": "a web app", "icons": []}');
  await mkdir(path.join(root, 'broken-pajamas'));
  await writeFile(path.join(root, 'broken-pajamas', 'manifest.json'), '{"manifestVersion": 1, "model": 3}');
  await mkdir(path.join(root, 'node_modules', 'pkg'), { recursive: true });
  await copyFile(gguf, path.join(root, 'node_modules', 'pkg', 'ignored.gguf'));

  const w = await withWorker(t);
  const listing = await w.connection.sendRequest(ListModelsRequest, { workspaceFolders: [root], hfCache: false });
  assert.deepEqual(
    listing.workspace.map((m) => [path.relative(root, m.path), m.kind, m.modelType]),
    [
      ['models/stories', 'hf-folder', 'llama'],
      ['stories260K.gguf', 'gguf', null],
    ],
  );
  assert.ok(listing.workspace[0]!.sizeBytes > 0);
  assert.equal(listing.artifacts.length, 1, 'the web app manifest is not an artifact folder');
  assert.equal(listing.artifacts[0]!.folder, path.join(root, 'broken-pajamas'));
  assert.match(listing.artifacts[0]!.problem ?? '', /not a valid Llama-Pajamas manifest/);
  assert.equal(listing.hfCache, null);
});

test('quantize as a job: progress, a manifest that verifies, one job per folder, and cancel', async (t) => {
  const model = sharedAsset(t, 'models/stories260K-hf');
  if (!model || !(await llamaToolsOrSkip(t))) return;
  const w = await withWorker(t);
  const outDir = path.join(await tempDir(t), 'out');
  const request = {
    model,
    outDir,
    formats: ['gguf' as const],
    targets: ['Q8_0' as const],
    imatrix: { kind: 'off' as const },
    evaluate: false,
  };

  const first = w.connection.sendRequest(QuantizeRequestType, { jobId: 'q1', request });
  // A second job on the same folder is refused while the first runs.
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(await rejectionCode(w.connection.sendRequest(QuantizeRequestType, { jobId: 'q2', request })), 'usage');
  const result = await first;
  assert.equal(result.manifest.artifacts.length, 1);
  assert.deepEqual(result.built, [result.manifest.artifacts[0]!.path]);
  assert.ok(
    w.progress.some((p) => p.jobId === 'q1'),
    'progress notifications arrived',
  );
  assert.ok(
    w.logs.some((l) => /running llama-quantize/.test(l)),
    'the tool call was logged',
  );
  assert.deepEqual((await verifyManifest(result.manifestPath)).problems, []);
  const verified = await w.connection.sendRequest(VerifyRequest, { jobId: 'v1', manifest: outDir, hashes: true });
  assert.deepEqual(verified.problems, []);
  assert.equal(verified.filesChecked, 1);

  // Cancel a second run (more targets, so there is work left when the cancel lands).
  const more = { ...request, targets: ['Q4_K_M' as const, 'Q5_K_M' as const, 'Q6_K' as const] };
  const cancelled = w.connection.sendRequest(QuantizeRequestType, { jobId: 'q3', request: more });
  const sawProgress = new Promise<void>((resolve) => {
    const sub = w.connection.onNotification('pajamas/jobProgress', (p: { jobId: string }) => {
      if (p.jobId !== 'q3') return;
      sub.dispose();
      resolve();
    });
  });
  await sawProgress;
  await w.connection.sendNotification(CancelJobNotification, { jobId: 'q3' });
  assert.equal(await rejectionCode(cancelled), 'cancelled');
  const left = await readdir(outDir);
  assert.deepEqual(left.filter(isTempPath), [], 'no temporary file is left behind');
  assert.deepEqual((await verifyManifest(outDir)).problems, [], 'what the manifest lists is complete');

  // The folder is free again: the next job runs.
  const again = await w.connection.sendRequest(QuantizeRequestType, { jobId: 'q4', request });
  assert.deepEqual(again.built, [], 'the Q8_0 artifact is unchanged and kept');
});

test('hover on a model config.json shows the architecture and the recommended target', async (t) => {
  const model = sharedAsset(t, 'models/pajama-tiny-gqa');
  if (!model) return;
  const w = await withWorker(t);
  const uri = pathToFileURL(path.join(model, 'config.json')).href;
  const text = await readFile(path.join(model, 'config.json'), 'utf8');
  await openDocument(w, uri, text);
  const lines = text.split('\n');
  const line = lines.findIndex((l) => l.includes('"num_key_value_heads"'));
  const result = await hover(w, uri, line, lines[line]!.indexOf('"') + 2);
  const value = (result?.contents as { value: string } | undefined)?.value ?? '';
  assert.match(value, /GQA Ratio: 4:1/);
  assert.match(value, /Recommended GGUF target: \*\*Q\d/);
  // Outside a property name: no hover.
  assert.equal(await hover(w, uri, line, lines[line]!.length), null);
});

test('diagnostics on a manifest: schema errors, missing and resized artifacts; none on other manifests', async (t) => {
  const w = await withWorker(t);
  const dir = await tempDir(t);
  const bytes = Buffer.from('not really a gguf, but bytes of a known size');
  await writeFile(path.join(dir, 'present.gguf'), bytes);
  const manifest = manifestWith([
    ggufArtifactFor(path.join(dir, 'present.gguf'), bytes),
    ggufArtifactFor(path.join(dir, 'gone.gguf'), bytes, { id: 'gone' }),
    ggufArtifactFor(path.join(dir, 'present.gguf'), Buffer.alloc(3), { id: 'resized' }),
  ]);
  const uri = pathToFileURL(path.join(dir, 'manifest.json')).href;
  const text = JSON.stringify(manifest, null, 2);
  const published = w.nextDiagnostics(uri);
  await openDocument(w, uri, text);
  const diags = await published;
  assert.deepEqual(
    diags.map((d) => messageText(d.message)),
    ['gone.gguf is missing (artifact gone)', `present.gguf: size is ${bytes.length} bytes, the manifest says 3 (artifact resized)`],
  );
  const goneLine = text.split('\n')[diags[0]!.range.start.line]!;
  assert.match(goneLine, /"path": "gone.gguf"/, 'the diagnostic sits on the artifact path');

  const bad = { ...manifest, manifestVersion: 'one' };
  const badUri = pathToFileURL(path.join(dir, 'sub', 'manifest.json')).href;
  const badPublished = w.nextDiagnostics(badUri);
  await openDocument(w, badUri, JSON.stringify(bad, null, 2));
  const schema = await badPublished;
  assert.equal(schema.length, 1, JSON.stringify(schema));
  assert.match(messageText(schema[0]!.message), /^\/manifestVersion must be equal to constant/);
  const badLine = JSON.stringify(bad, null, 2).split('\n')[schema[0]!.range.start.line]!;
  assert.match(badLine, /"manifestVersion": "one"/, 'the diagnostic sits on the offending value');

  const otherUri = pathToFileURL(path.join(dir, 'web', 'manifest.json')).href;
  const otherPublished = w.nextDiagnostics(otherUri);
  await openDocument(w, otherUri, '{"name": "a web app"}');
  assert.deepEqual(await otherPublished, []);
});

test('without built tools and without cmake, a quantize job fails naming what to install', async (t) => {
  const model = sharedAsset(t, 'models/stories260K-hf');
  if (!model) return;
  const dir = await tempDir(t);
  const emptyPath = path.join(dir, 'bin');
  await mkdir(emptyPath);
  // An empty cache, no tools folder, and a PATH on which nothing can be found: a machine without a toolchain.
  const w = await startWorker({ PATH: emptyPath, PAJAMAS_CACHE_DIR: path.join(dir, 'cache'), PAJAMAS_LLAMA_BIN_DIR: '' });
  t.after(() => w.stop());
  const request = { model, outDir: path.join(dir, 'out'), formats: ['gguf' as const], targets: ['Q8_0' as const], evaluate: false };
  try {
    await w.connection.sendRequest(QuantizeRequestType, { jobId: 'q', request: { ...request, imatrix: { kind: 'off' as const } } });
    assert.fail('the job ran without tools');
  } catch (error) {
    assert.ok(error instanceof ResponseError && isWorkerErrorData(error.data), String(error));
    assert.equal(error.data.code, 'failure');
    assert.ok((error.data.details.missing as string[]).includes('cmake'), JSON.stringify(error.data.details));
    assert.match(error.message, /cmake/);
  }
});
