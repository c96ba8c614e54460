/**
 * pajamas/inspectManifest through the worker, as the manifest editor asks it: a valid manifest with
 * its bits per layer read from a real GGUF's headers, broken JSON and schema errors with their
 * lines, a file that is not ours, a truncated artifact; and Verify of one artifact, whose hash
 * problems then show in the next reading without dropping the others'.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { InspectManifestRequest, type ManifestInspection } from '../../../src/protocol/manifest-editor';
import { VerifyRequest } from '../../../src/protocol/worker';
import { ggufArtifactFor, manifestWith } from '../../fixtures/manifest';
import { sharedAsset } from '../../helpers/env';
import { startWorker, type WorkerHandle } from './worker-harness';

async function setup(t: import('node:test').TestContext): Promise<{ w: WorkerHandle; dir: string }> {
  const w = await startWorker();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pajamas-inspect-'));
  t.after(async () => {
    await w.stop();
    await rm(dir, { recursive: true, force: true });
  });
  return { w, dir };
}

const inspect = (w: WorkerHandle, manifestPath: string, text: string): Promise<ManifestInspection> =>
  w.connection.sendRequest(InspectManifestRequest, { path: manifestPath, text });

/** Two artifacts (copies of the shared F32 GGUF) and the manifest text that lists them. */
async function twoArtifacts(dir: string, gguf: string): Promise<{ manifestPath: string; text: string }> {
  const bytes = await readFile(gguf);
  const artifacts = [];
  for (const id of ['a-Q8_0', 'b-Q4_K_M']) {
    const file = path.join(dir, `${id}.gguf`);
    await copyFile(gguf, file);
    artifacts.push(ggufArtifactFor(file, bytes));
  }
  const manifestPath = path.join(dir, 'manifest.json');
  const text = JSON.stringify(manifestWith(artifacts), null, 2);
  await writeFile(manifestPath, text);
  return { manifestPath, text };
}

test('a valid manifest: no problems, bits per layer from the GGUF headers', async (t) => {
  const gguf = sharedAsset(t, 'models/stories260K-gguf/stories260K.gguf');
  if (!gguf) return;
  const { w, dir } = await setup(t);
  const { manifestPath, text } = await twoArtifacts(dir, gguf);
  const r = await inspect(w, manifestPath, text);
  assert.ok(r.valid, JSON.stringify(r));
  assert.deepEqual(r.problems, []);
  assert.equal(r.manifest.artifacts.length, 2);
  assert.equal(r.layerBits.length, 2);
  for (const bits of r.layerBits) {
    assert.equal(bits.error, null);
    // stories260K: 5 layers, all F32 (norms included): 32 bits per weight everywhere.
    assert.equal(bits.layers.length, 5);
    for (const b of bits.layers) assert.equal(b, 32);
    assert.equal(bits.outside, 32);
  }
  assert.equal(r.chartSvg, null, 'no artifact has a KLD, so there is no size-vs-KLD chart');
  assert.match(r.recommendation.ggufMethod, /^Q/);
});

test('broken JSON and schema errors come with their lines; unsaved text is what is read', async (t) => {
  const gguf = sharedAsset(t, 'models/stories260K-gguf/stories260K.gguf');
  if (!gguf) return;
  const { w, dir } = await setup(t);
  const { manifestPath, text } = await twoArtifacts(dir, gguf);
  const lines = text.split('\n');
  const modelLine = lines.findIndex((l) => l.includes('"model": "tiny"')) + 1;
  const broken = text.replace('"model": "tiny",', '"model": "tiny"');
  const r1 = await inspect(w, manifestPath, broken);
  assert.equal(r1.valid, false);
  assert.ok(r1.problems.length >= 1);
  assert.equal(r1.problems[0]!.kind, 'json');
  assert.match(r1.problems[0]!.message, /^JSON: /);
  assert.equal(r1.problems[0]!.line, modelLine + 1, 'the missing comma is reported where the next property starts');

  const schema = text.replace('"model": "tiny"', '"model": 42');
  const r2 = await inspect(w, manifestPath, schema);
  assert.equal(r2.valid, false);
  assert.deepEqual(
    r2.problems.map((p) => [p.kind, p.line]),
    [['schema', modelLine]],
  );
  assert.match(r2.problems[0]!.message, /\/model must be string/);
});

test('a web app manifest.json is not ours', async (t) => {
  const { w, dir } = await setup(t);
  const text = JSON.stringify({ name: 'My App', short_name: 'App', start_url: '/', display: 'standalone', icons: [] });
  const r = await inspect(w, path.join(dir, 'manifest.json'), text);
  assert.equal(r.valid, false);
  assert.match(r.problems[0]!.message, /not a Llama-Pajamas manifest/);
});

test('a truncated artifact: its row reports it, and Verify of that artifact keeps the other one fine', async (t) => {
  const gguf = sharedAsset(t, 'models/stories260K-gguf/stories260K.gguf');
  if (!gguf) return;
  const { w, dir } = await setup(t);
  const { manifestPath, text } = await twoArtifacts(dir, gguf);
  await truncate(path.join(dir, 'b-Q4_K_M.gguf'), 1000);
  const r = await inspect(w, manifestPath, text);
  assert.ok(r.valid);
  assert.deepEqual(
    r.problems.map((p) => p.subject),
    ['b-Q4_K_M'],
  );
  assert.match(r.problems[0]!.message, /size is 1000 bytes/);
  const bBits = r.layerBits.find((b) => b.artifactId === 'b-Q4_K_M')!;
  assert.ok(bBits.error, 'a truncated GGUF cannot give its layers');

  const one = await w.connection.sendRequest(VerifyRequest, { jobId: 'v1', manifest: manifestPath, hashes: true, artifacts: ['a-Q8_0'] });
  assert.equal(one.filesChecked, 1);
  assert.deepEqual(one.problems, []);
  const all = await w.connection.sendRequest(VerifyRequest, { jobId: 'v2', manifest: manifestPath, hashes: true });
  assert.equal(all.filesChecked, 2);
  assert.deepEqual(
    all.problems.map((p) => p.subject),
    ['b-Q4_K_M'],
  );
  // Verifying only "a" afterwards must not forget b's problem.
  await w.connection.sendRequest(VerifyRequest, { jobId: 'v3', manifest: manifestPath, hashes: true, artifacts: ['a-Q8_0'] });
  const after = await inspect(w, manifestPath, text);
  assert.ok(after.problems.some((p) => p.subject === 'b-Q4_K_M'));
  assert.ok(!after.problems.some((p) => p.subject === 'a-Q8_0'));
});
