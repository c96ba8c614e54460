/**
 * The claim's floor, on every trained model the tests have: `compare` at Q4_K_M, and the pajamas
 * file is never worse than llama.cpp's stock recipe in mean KL divergence against F16, without and
 * with an importance matrix, on held-out text that neither the plan's check (calibration text) nor
 * the importance matrix saw. Either the pajamas plan measured better on calibration text and is
 * kept, or the check kept the stock file under its name.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { compareStrategies } from '../../../src/core/pipeline/compare';
import { projectRoot, sharedAsset } from '../../helpers/env';
import { llamaToolsOrSkip } from '../../helpers/llama-tools';
import { tiedModelOrSkip } from '../../fixtures/models/trained/tied-model';

/** The first part of the held-out text: about 40 chunks of 256 tokens for these vocabularies. */
const EVAL_TEXT_CHARS = 32_000;
/** Calibration: the start of each of the project's calibration files (prose, dialogue, code, languages...), to keep CI quick. */
const CALIBRATION_CHARS_PER_FILE = 10_000;

function calibrationSample(file: string): void {
  const dir = path.join(projectRoot, 'data', 'calibration');
  const parts = readdirSync(dir)
    .filter((f) => f.endsWith('.txt'))
    .sort()
    .map((f) => readFileSync(path.join(dir, f), 'utf8').slice(0, CALIBRATION_CHARS_PER_FILE));
  writeFileSync(file, parts.join('\n\n'));
}

const MODELS: { name: string; resolve: (t: TestContext) => Promise<string | undefined> }[] = [
  { name: 'pajama-tiny-gqa', resolve: async (t) => sharedAsset(t, 'models/pajama-tiny-gqa') },
  { name: 'pajama-tiny-moe', resolve: async (t) => sharedAsset(t, 'models/pajama-tiny-moe') },
  { name: 'pajama-tied-vocab', resolve: tiedModelOrSkip },
];

for (const { name, resolve } of MODELS) {
  test(`${name}: pajamas is never worse than stock at Q4_K_M, without and with an imatrix`, async (t) => {
    const model = await resolve(t);
    const heldout = model ? sharedAsset(t, 'data/war-and-peace-heldout.txt') : undefined;
    if (!model || !heldout || !(await llamaToolsOrSkip(t))) return;
    const work = await mkdtemp(path.join(os.tmpdir(), 'pajamas-never-worse-'));
    t.after(() => rm(work, { recursive: true, force: true }));
    const textFile = path.join(work, 'heldout-part.txt');
    writeFileSync(textFile, readFileSync(heldout, 'utf8').slice(0, EVAL_TEXT_CHARS));

    const calibrationFile = path.join(work, 'calibration.txt');
    calibrationSample(calibrationFile);
    const result = await compareStrategies({
      model,
      target: 'Q4_K_M',
      outDir: path.join(work, 'out'),
      textFile,
      contextSize: 256,
      calibrationFile,
    });
    assert.equal(result.rows.length, 4);
    for (const imatrix of [false, true]) {
      const naive = result.rows.find((r) => r.strategy === 'naive' && r.imatrix === imatrix)!;
      const pajamas = result.rows.find((r) => r.strategy === 'pajamas' && r.imatrix === imatrix)!;
      assert.ok(pajamas.stockCheck, `${pajamas.id} was checked against stock`);
      t.diagnostic(
        `${pajamas.id}: mean KLD ${pajamas.kldMean.toFixed(6)} vs naive ${naive.kldMean.toFixed(6)}; check: ${pajamas.stockCheck.reason}`,
      );
      assert.ok(pajamas.sizeBytes <= naive.sizeBytes, `${pajamas.id} is no larger than stock`);
      assert.ok(pajamas.kldMean <= naive.kldMean, `${pajamas.id}: ${pajamas.kldMean} > stock's ${naive.kldMean}`);
      if (pajamas.stockCheck.kept === 'stock') assert.equal(pajamas.kldMean, naive.kldMean, 'a fallback is the stock file');
    }
  });
}
