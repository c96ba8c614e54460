/**
 * The pipeline on the trained models: every target and strategy, a manifest that validates and
 * verifies, a second run that rebuilds nothing, expert coverage recorded for the MoE, and a run
 * killed in the middle that the next run completes. What the files hold is judged independently
 * of the planner the pipeline uses: the naive files against llama-quantize's own --dry-run choice
 * on a separately converted F16, the pajamas files by the rules any plan must keep.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { convertToGguf } from '../../../src/core/convert';
import { ggmlType, type GgmlTypeName } from '../../../src/core/formats/ggml-types';
import { readGgufHeader } from '../../../src/core/formats/gguf';
import type { LlamaTools } from '../../../src/core/llamacpp';
import type { GgufArtifact, Manifest } from '../../../src/core/manifest/types';
import { verifyManifest } from '../../../src/core/manifest/verify';
import { quantizeModel } from '../../../src/core/pipeline/quantize';
import { PLAN_STRATEGIES, PLAN_TARGETS } from '../../../src/core/plan/types';
import { isTempPath } from '../../../src/core/fs/atomic';
import { dryRunTypes } from '../../helpers/dry-run';
import { projectRoot, sharedAsset } from '../../helpers/env';
import { llamaToolsOrSkip } from '../../helpers/llama-tools';
import { tiedModelOrSkip } from '../../fixtures/models/trained/tied-model';

async function tempDir(t: import('node:test').TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pajamas-pipeline-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const MODELS: { name: string; resolve: (t: import('node:test').TestContext) => Promise<string | undefined> }[] = [
  { name: 'pajama-tiny-gqa', resolve: async (t) => sharedAsset(t, 'models/pajama-tiny-gqa') },
  { name: 'pajama-tiny-moe', resolve: async (t) => sharedAsset(t, 'models/pajama-tiny-moe') },
  { name: 'pajama-tied-vocab', resolve: tiedModelOrSkip },
];

const bitsPerWeight = (type: string) => (ggmlType(type as GgmlTypeName).typeSize * 8) / ggmlType(type as GgmlTypeName).blockSize;

async function fileTypes(file: string): Promise<Map<string, string>> {
  return new Map((await readGgufHeader(file)).tensors.map((x) => [x.name, x.type]));
}

/** Naive files hold exactly llama-quantize's own choice (--dry-run on an F16 converted here, not the pipeline's). */
async function checkNaive(a: GgufArtifact, outDir: string, f16: string, tools: LlamaTools): Promise<void> {
  const actual = await fileTypes(path.join(outDir, a.path));
  assert.deepEqual(actual, await dryRunTypes(tools, f16, a.target), `${a.id} holds llama.cpp's own recipe`);
}

/**
 * Pajamas files keep what any plan must: the same tensors as stock, no larger file, tensors
 * llama.cpp leaves alone left alone, the output head (or tied embedding) never below stock, and
 * the types the manifest records for the plan. When the check against stock kept stock, the file
 * is the naive one.
 */
async function checkPajamas(a: GgufArtifact, naive: GgufArtifact, manifest: Manifest, outDir: string): Promise<void> {
  const actual = await fileTypes(path.join(outDir, a.path));
  const stock = await fileTypes(path.join(outDir, naive.path));
  assert.deepEqual([...actual.keys()].sort(), [...stock.keys()].sort(), `${a.id}: the same tensors as stock`);
  assert.ok(a.sizeBytes <= naive.sizeBytes, `${a.id} is no larger than ${naive.id}`);
  for (const [name, type] of stock) {
    if (['F32', 'F16', 'BF16'].includes(type)) assert.equal(actual.get(name), type, `${a.id}: ${name} is left as it is`);
  }
  const head = stock.has('output.weight') ? 'output.weight' : 'token_embd.weight';
  assert.ok(bitsPerWeight(actual.get(head)!) >= bitsPerWeight(stock.get(head)!), `${a.id}: ${head} never below stock`);
  assert.ok(a.stockCheck, `${a.id} was checked against stock`);
  if (a.stockCheck.kept === 'stock') {
    assert.equal(a.sha256, naive.sha256, `${a.id} fell back: it is the stock file`);
    return;
  }
  assert.ok(a.stockCheck.kldMean < a.stockCheck.stockKldMean, `${a.id} kept only when better on calibration text`);
  const record = manifest.plans.find((p) => p.target === a.target && p.strategy === 'pajamas')!;
  const counts: Record<string, number> = {};
  for (const type of Object.values(record.kindTypes).flatMap((byType) => Object.entries(byType)))
    counts[type[0]] = (counts[type[0]] ?? 0) + type[1];
  assert.deepEqual(a.tensorTypes, counts, `${a.id}: the file holds the types the manifest's plan records`);
}

for (const { name, resolve } of MODELS) {
  test(`${name}: every target and strategy, judged independently, verified, and a second run rebuilds nothing`, async (t) => {
    const model = await resolve(t);
    const tools = model ? await llamaToolsOrSkip(t) : undefined;
    if (!model || !tools) return;
    const outDir = await tempDir(t);
    const request = {
      model,
      outDir,
      formats: ['gguf' as const],
      targets: [...PLAN_TARGETS],
      strategies: [...PLAN_STRATEGIES],
      imatrix: { kind: 'off' as const },
      evaluate: false,
      // The check against stock scores 64 chunks of calibration text per file; short ones keep it quick.
      contextSize: 128,
    };

    const first = await quantizeModel(request);
    assert.equal(first.manifest.artifacts.length, PLAN_TARGETS.length * PLAN_STRATEGIES.length);
    assert.equal(first.built.length, PLAN_TARGETS.length * PLAN_STRATEGIES.length);
    const f16 = path.join(outDir, 'independent-f16.gguf');
    await convertToGguf(model, { outPath: f16, outType: 'f16' });
    for (const artifact of first.manifest.artifacts) {
      assert.equal(artifact.format, 'gguf');
      if (artifact.format !== 'gguf') continue;
      if (artifact.strategy === 'naive') {
        await checkNaive(artifact, outDir, f16, tools);
        continue;
      }
      const naive = first.manifest.artifacts.find((a) => a.id === artifact.id.replace('pajamas', 'naive'));
      assert.ok(naive?.format === 'gguf', `${artifact.id} has a naive counterpart`);
      await checkPajamas(artifact, naive, first.manifest, outDir);
      t.diagnostic(`${artifact.id}: ${artifact.stockCheck!.reason}`);
    }
    await rm(f16);
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
  // The documented rule, written here rather than read from the code: an expert is under-covered
  // below 32 routed tokens or below a tenth of its layer's mean.
  assert.deepEqual(coverage.threshold, { minTokens: 32, minFractionOfLayerMean: 0.1 });
  const expected = coverage.countsPerLayer.flatMap((counts, layer) => {
    const mean = counts.reduce((a, b) => a + b, 0) / counts.length;
    return counts.flatMap((tokens, expert) => (tokens < 32 || tokens < mean / 10 ? [{ layer, expert, tokens }] : []));
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
