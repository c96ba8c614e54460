/**
 * The pipeline on the shared trained models: every target and strategy, every tensor of every file
 * as planned, a manifest that validates and verifies, a second run that rebuilds nothing, expert
 * coverage recorded for the MoE, and a run killed in the middle that the next run completes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readGgufHeader } from '../../../src/core/formats/gguf';
import { verifyManifest } from '../../../src/core/manifest/verify';
import { quantizeModel } from '../../../src/core/pipeline/quantize';
import { planModel } from '../../../src/core/plan/load';
import { PLAN_STRATEGIES, PLAN_TARGETS } from '../../../src/core/plan/types';
import { isTempPath } from '../../../src/core/fs/atomic';
import { projectRoot, sharedAsset } from '../../helpers/env';
import { llamaToolsOrSkip } from '../../helpers/llama-tools';

async function tempDir(t: import('node:test').TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pajamas-pipeline-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

for (const name of ['pajama-tiny-gqa', 'pajama-tiny-moe']) {
  test(`${name}: every target and strategy as planned, verified, and a second run rebuilds nothing`, async (t) => {
    const model = sharedAsset(t, `models/${name}`);
    if (!model || !(await llamaToolsOrSkip(t))) return;
    const outDir = await tempDir(t);
    const request = {
      model,
      outDir,
      formats: ['gguf' as const],
      targets: [...PLAN_TARGETS],
      strategies: [...PLAN_STRATEGIES],
      imatrix: { kind: 'off' as const },
      evaluate: false,
    };

    const first = await quantizeModel(request);
    assert.equal(first.manifest.artifacts.length, PLAN_TARGETS.length * PLAN_STRATEGIES.length);
    assert.equal(first.built.length, PLAN_TARGETS.length * PLAN_STRATEGIES.length);
    for (const artifact of first.manifest.artifacts) {
      assert.equal(artifact.format, 'gguf');
      if (artifact.format !== 'gguf') continue;
      // An independent plan of the same model: the file must hold exactly its types.
      const { plan } = await planModel(model, { target: artifact.target, strategy: artifact.strategy });
      const file = await readGgufHeader(path.join(outDir, artifact.path));
      const actual = new Map(file.tensors.map((x) => [x.name, x.type]));
      assert.equal(actual.size, plan.tensors.length, artifact.id);
      for (const planned of plan.tensors) assert.equal(actual.get(planned.name), planned.ggufType, `${artifact.id}: ${planned.name}`);
      if (artifact.strategy === 'pajamas') {
        const naive = first.manifest.artifacts.find((a) => a.id === artifact.id.replace('pajamas', 'naive'))!;
        assert.ok(plan.totals.sizeBytes <= plan.totals.stockSizeBytes, `${artifact.id} within the stock budget`);
        assert.ok(artifact.sizeBytes <= naive.sizeBytes, `${artifact.id} is no larger than ${naive.id}`);
      }
    }
    assert.deepEqual((await verifyManifest(first.manifestPath)).problems, []);
    assert.equal(first.manifest.baseline?.kept, false, 'the F16 intermediate is deleted');

    const second = await quantizeModel(request);
    assert.deepEqual(second.built, [], 'nothing is rebuilt');
    assert.equal(second.skipped.length, PLAN_TARGETS.length * PLAN_STRATEGIES.length);
  });
}

test('MoE imatrix: per-expert coverage is read back and recorded', async (t) => {
  const model = sharedAsset(t, 'models/pajama-tiny-moe');
  if (!model || !(await llamaToolsOrSkip(t))) return;
  const outDir = await tempDir(t);
  const result = await quantizeModel({ model, outDir, formats: ['gguf'], targets: ['Q4_K_M'], imatrix: { kind: 'auto' }, evaluate: false });
  const coverage = result.manifest.calibration?.expertCoverage;
  assert.ok(coverage, 'expert coverage recorded');
  assert.equal(coverage.countsPerLayer.length, 6);
  for (const layer of coverage.countsPerLayer) {
    assert.equal(layer.length, 8);
    assert.ok(layer.every((c) => c >= 0));
    assert.ok(layer.reduce((a, b) => a + b, 0) > 0);
  }
  // Exactly the experts under the threshold are listed, with their counts.
  const expected = coverage.countsPerLayer.flatMap((counts, layer) => {
    const mean = counts.reduce((a, b) => a + b, 0) / counts.length;
    return counts.flatMap((tokens, expert) =>
      tokens < coverage.threshold.minTokens || tokens < coverage.threshold.minFractionOfLayerMean * mean ? [{ layer, expert, tokens }] : [],
    );
  });
  assert.deepEqual(coverage.underCovered, expected);
  assert.ok(result.manifest.artifacts[0]!.imatrix);
});

test('a run killed while llama-quantize works leaves nothing that looks finished; the next run completes it', async (t) => {
  const model = sharedAsset(t, 'models/pajama-tiny-moe');
  if (!model || !(await llamaToolsOrSkip(t))) return;
  const outDir = await tempDir(t);
  const args = [
    path.join(projectRoot, 'bin', 'pajamas.js'),
    'quantize',
    model,
    '-o',
    outDir,
    '--formats',
    'gguf',
    '--targets',
    'Q4_K_M,Q8_0',
    '--imatrix',
    'off',
    '--no-eval',
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('running llama-quantize')) {
        child.kill('SIGKILL');
        resolve();
      }
    });
    child.on('exit', () => reject(new Error('the run ended before llama-quantize started')));
  });
  await new Promise((resolve) => child.once('exit', resolve));
  const leftovers = (await readdir(outDir)).filter((f) => f.endsWith('.gguf') && f.includes('Q4_K_M'));
  assert.deepEqual(leftovers, [], 'no finished-looking artifact after the kill');

  const result = await quantizeModel({
    model,
    outDir,
    formats: ['gguf'],
    targets: ['Q4_K_M', 'Q8_0'],
    imatrix: { kind: 'off' },
    evaluate: false,
  });
  assert.equal(result.manifest.artifacts.length, 2);
  assert.deepEqual((await verifyManifest(result.manifestPath)).problems, []);
  // Leftovers of the killed run are cleaned once their writer is gone (llama-quantize may outlive
  // the kill briefly and finish its own temporary file, which the next run then removes).
  const temps = (await readdir(outDir)).filter((f) => isTempPath(f));
  assert.ok(
    temps.every((f) => !f.includes('Q8_0')),
    `no temporary files of this run: ${temps.join(', ')}`,
  );
});
