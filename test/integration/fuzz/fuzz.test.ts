/**
 * The fuzz suite in `npm test`: seeded mutants of config.json, safetensors, GGUF and manifest.json
 * through detect, plan, convert, verify and run (test/fuzz/campaign.ts). Every run must end with
 * exit 0 on a still-valid file or exit 3/4 with a message: never a stack trace, a crash or native
 * abort, a run past its time bound or memory past its bound. Hermetic (generated seeds, no
 * ../shared, no llama.cpp tools; node-llama-cpp's prebuilt binaries run the models).
 * PAJAMAS_FUZZ_SCALE=10 (or `npm run fuzz -- --scale 10`) runs ten times as many mutants;
 * PAJAMAS_FUZZ_SEED picks another campaign.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { FORMATS, formatReport, runFuzzCampaign } from '../../fuzz/campaign';
import { projectRoot } from '../../helpers/env';

test('fuzz: mutated inputs end in exit 0, 3 or 4 with a message; no crash, abort, hang or runaway memory', async (t) => {
  assert.ok(existsSync(path.join(projectRoot, 'dist', 'cli.js')), 'dist/cli.js is missing: build first (npm test does)');
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'pajamas-fuzz-'));
  t.after(() => rmSync(workDir, { recursive: true, force: true }));
  const outDir = path.join(projectRoot, 'test-output');
  const report = await runFuzzCampaign({
    seed: Number(process.env.PAJAMAS_FUZZ_SEED ?? 20261126),
    scale: Number(process.env.PAJAMAS_FUZZ_SCALE ?? 1),
    workDir,
    keepDir: path.join(outDir, 'fuzz-failures'),
    log: (line) => t.diagnostic(line),
  });
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, 'fuzz-report.json'), JSON.stringify(report, null, 2));
  t.diagnostic(`\n${formatReport(report)}`);
  t.diagnostic(
    `${report.seconds.toFixed(0)} s; peak RSS ${(report.maxPeakRssBytes / 2 ** 20).toFixed(0)} MiB; slowest run ` +
      `${(report.slowestMs / 1000).toFixed(1)} s`,
  );
  assert.deepEqual(
    report.violations.map((v) => `${v.format} ${v.command} [${v.mutant}]: ${v.problem.slice(0, 400)} (kept: ${v.kept})`),
    [],
  );
  // Not vacuous: every format was run, and mutants were both refused and (still valid) accepted.
  for (const format of FORMATS) {
    const tallies = Object.values(report.tally[format]);
    assert.ok(tallies.reduce((n, x) => n + x.runs, 0) > 0, `${format} was fuzzed`);
    assert.ok(
      tallies.some((x) => x.exit3 > 0),
      `${format}: some mutants were refused as bad input`,
    );
  }
});
