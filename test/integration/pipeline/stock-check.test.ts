/**
 * The check against stock when the pajamas file loses: a deliberately bad plan (the tied
 * embedding, which is also the output head, dropped to the cheapest type on a "measured" gain)
 * is quantized under the pajamas artifact's name; the check must measure it worse than stock on
 * the calibration text, put the stock file under that name, and say so in the manifest, which still
 * verifies. A second check with the same inputs does nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sha256File } from '../../../src/core/fs/hash';
import { readGgufHeader } from '../../../src/core/formats/gguf';
import type { GgufArtifact } from '../../../src/core/manifest/types';
import { verifyManifest } from '../../../src/core/manifest/verify';
import { loadCalibrationText } from '../../../src/core/pipeline/calibration';
import { ManifestState } from '../../../src/core/pipeline/manifest-state';
import { quantizeModel } from '../../../src/core/pipeline/quantize';
import { quantizeByPlan } from '../../../src/core/pipeline/quantize-gguf';
import { checkAgainstStock } from '../../../src/core/pipeline/stock-check';
import { planModel } from '../../../src/core/plan/load';
import { readManifest } from '../../../src/core/manifest/io';
import { sharedAsset } from '../../helpers/env';
import { llamaToolsOrSkip } from '../../helpers/llama-tools';

test('a pajamas file worse than stock is replaced by the stock file, and the manifest says why', async (t) => {
  const model = sharedAsset(t, 'models/stories260K-hf');
  const tools = model ? await llamaToolsOrSkip(t) : undefined;
  if (!model || !tools) return;
  const outDir = await mkdtemp(path.join(os.tmpdir(), 'pajamas-stock-check-'));
  t.after(() => rm(outDir, { recursive: true, force: true }));
  const run = await quantizeModel({
    model,
    outDir,
    formats: ['gguf'],
    strategies: ['pajamas'],
    imatrix: { kind: 'off' },
    evaluate: false,
    stockCheck: false,
    keepIntermediate: true,
  });
  const { manifest } = await readManifest(run.manifestPath);
  const artifact = manifest.artifacts[0] as GgufArtifact;
  assert.equal(artifact.stockCheck, undefined, 'no check when it is turned off');
  const file = path.join(outDir, artifact.path);
  const intermediate = path.join(outDir, manifest.baseline!.path);

  const bad = (await planModel(model, { target: 'Q4_K_M', strategy: 'pajamas', gains: { token_embd: 1e-9 } })).plan;
  const stock = (await planModel(model, { target: 'Q4_K_M', strategy: 'naive' })).plan;
  const head = (p: typeof bad) => p.tensors.find((x) => x.name === 'token_embd.weight')!.ggufType;
  assert.notEqual(head(bad), head(stock), 'the bad plan lowers the tied embedding');
  const written = await quantizeByPlan({ tools, input: intermediate, plan: bad, outPath: file, imatrixPath: null });
  const state = ManifestState.open(run.manifestPath, manifest, manifest, () => {});
  state.upsertArtifact({ ...artifact, sha256: written.sha256, sizeBytes: written.sizeBytes, tensorTypes: written.tensorTypes });
  await state.save();

  const job = {
    tools,
    state,
    outDir,
    modelName: manifest.model,
    intermediate: { path: intermediate, sha256: manifest.baseline!.sha256!, sizeBytes: manifest.baseline!.sizeBytes! },
    calibration: await loadCalibrationText(null),
    contextSize: 128,
    pairs: [{ pajamas: bad, stock }],
    imatrix: null,
    naiveBuilt: false,
  };
  const lines: string[] = [];
  const summary = await checkAgainstStock(job, { log: (line) => lines.push(line) });
  const check = summary.outcomes[0]!.check;
  assert.equal(check.kept, 'stock');
  assert.ok(check.kldMean > check.stockKldMean, `bad plan ${check.kldMean} vs stock ${check.stockKldMean}`);
  assert.match(check.reason, /not at least 2% better .*this artifact holds the stock recipe's file/);
  assert.ok(
    lines.some((l) => l.includes(check.reason)),
    'the output says so',
  );

  const after = state.artifact(artifact.id) as GgufArtifact;
  assert.equal(after.stockCheck?.kept, 'stock');
  assert.equal(after.sha256, await sha256File(file), 'the manifest describes the file now under the name');
  const types = new Map((await readGgufHeader(file)).tensors.map((x) => [x.name, x.type]));
  for (const x of stock.tensors) assert.equal(types.get(x.name), x.ggufType, `${x.name} as the stock recipe`);
  assert.deepEqual((await verifyManifest(run.manifestPath)).problems, []);
  const leftovers = (await readdir(outDir)).filter((f) => f.includes('stock-check'));
  assert.deepEqual(leftovers, [], 'no temporary file of the check is left');

  const again = await checkAgainstStock(job, {});
  assert.equal(again.outcomes[0]!.ran, false, 'the verdict is reused while the inputs are the same');
});
