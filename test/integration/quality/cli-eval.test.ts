/**
 * `pajamas eval` as a user runs it (the built CLI in a child process): the table, --json with the
 * contract's fields, the quality gate (exit code 5; --no-gate reports and exits 0), a single GGUF
 * without a baseline (KLD fields null), and usage errors (exit 2). Each test stands alone: the
 * shared requantization and manifest are made once, by whichever test needs them first.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type TestContext, after, before, test } from 'node:test';
import { readManifest } from '../../../src/core/manifest/io';
import { projectRoot } from '../../helpers/env';
import { CHUNKS, CTX, type QualityAssets, baselineEntry, ggufEntry, qualityAssets, quantize, writeTestManifest } from './setup';

const CLI = path.join(projectRoot, 'bin', 'pajamas.js');
const work = mkdtempSync(path.join(os.tmpdir(), 'pajamas-cli-eval-'));
after(() => rmSync(work, { recursive: true, force: true }));

interface Setup {
  assets: QualityAssets;
  manifestPath: string;
  q4: string;
  /** Runs `pajamas eval args` in the work folder. */
  pajamas(...args: string[]): { code: number | null; stdout: string; stderr: string };
  /** --text, --ctx and --chunks of the small settings. */
  common: string[];
}

let setupRun: Promise<Setup | undefined> | undefined;

/** A Q4_K_M requantization of stories260K and its manifest, made once per file. */
function setup(t: TestContext): Promise<Setup | undefined> {
  setupRun ??= (async () => {
    const assets = await qualityAssets(t);
    if (!assets) return undefined;
    const q4 = await quantize(assets.tools, assets.model, path.join(work, 'stories-Q4_K_M.gguf'), 'Q4_K_M');
    const manifestPath = await writeTestManifest(work, [await ggufEntry(q4, 'Q4_K_M')], await baselineEntry(work, assets.model));
    const env = { ...process.env, PAJAMAS_CACHE_DIR: path.join(work, 'cache'), PAJAMAS_LLAMA_BIN_DIR: assets.tools.binDir };
    const pajamas = (...args: string[]) => {
      const r = spawnSync(process.execPath, [CLI, 'eval', ...args], { cwd: work, encoding: 'utf8', env });
      return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    return { assets, manifestPath, q4, pajamas, common: ['--text', assets.text, '--ctx', String(CTX), '--chunks', String(CHUNKS)] };
  })();
  return setupRun;
}

const SKIP = 'needs the tools and ../shared';

before(() => {
  const build = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: projectRoot, encoding: 'utf8' });
  assert.equal(build.status, 0, build.stderr);
});

test('--json prints one document with the contract fields; the default gate passes', async (t) => {
  const s = await setup(t);
  if (!s) return t.skip(SKIP);
  const { assets, q4, pajamas, common } = s;
  const r = pajamas('manifest.json', ...common, '--json');
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  // The baseline lives in the manifest's folder (manifests name only files inside it).
  assert.equal(doc.baseline.path, path.join(work, path.basename(assets.model)));
  assert.ok(doc.baseline.ppl > 1);
  assert.equal(doc.artifacts.length, 1);
  const a = doc.artifacts[0];
  for (const key of ['path', 'ppl', 'kldMean', 'kldP99', 'top1', 'gate']) assert.ok(key in a, key);
  assert.equal(a.path, q4);
  assert.ok(a.kldMean > 0 && a.kldP99 > a.kldMean && a.top1 > 0 && a.top1 <= 1);
  assert.deepEqual(a.gate, { thresholdPct: 5, passed: true });
});

test('a PPL rise above --gate-threshold exits 5 after printing the results; --no-gate reports and exits 0', async (t) => {
  const s = await setup(t);
  if (!s) return t.skip(SKIP);
  const { manifestPath, pajamas, common } = s;
  const failed = pajamas('manifest.json', ...common, '--gate-threshold', '1', '--json');
  assert.equal(failed.code, 5, failed.stderr);
  assert.match(failed.stderr, /failed the quality gate/);
  // The core error names options by key; the CLI phrases them as this command's flags or another's.
  assert.match(failed.stderr, /\nhint: pajamas quantize \.\.\. --targets Q5_K_M \| .* \| --gate-threshold <P> \| --no-gate\n/);
  const doc = JSON.parse(failed.stdout);
  assert.equal(doc.artifacts[0].gate.passed, false);
  assert.ok(doc.artifacts[0].ppl / doc.baseline.ppl > 1.01);
  // The verdict is recorded in the manifest even though the command failed.
  assert.equal((await readManifest(manifestPath)).manifest.artifacts[0]!.quality?.gate?.passed, false);

  const reported = pajamas('manifest.json', ...common, '--gate-threshold', '1', '--no-gate');
  assert.equal(reported.code, 0, reported.stderr);
  const lines = reported.stdout.split('\n');
  assert.match(lines[0]!, /artifact +size +bpw +PPL +PPL ratio +mean KLD +p99 KLD +top-1 +gate/);
  assert.match(lines[2]!, /^F16 baseline/);
  assert.match(lines[3]!, /^stories-Q4_K_M .* fail \(not enforced\)$/);
  assert.match(reported.stdout, /report only: --no-gate/);
});

test('a single GGUF without a baseline gets perplexity only', async (t) => {
  const s = await setup(t);
  if (!s) return t.skip(SKIP);
  const { q4, pajamas, common } = s;
  const r = pajamas(q4, ...common, '--json');
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.baseline, null);
  assert.ok(doc.artifacts[0].ppl > 1);
  for (const key of ['kldMean', 'kldP99', 'top1', 'gate']) assert.equal(doc.artifacts[0][key], null, key);
});

test('usage errors exit 2 with a message', async (t) => {
  const s = await setup(t);
  if (!s) return t.skip(SKIP);
  const { q4, pajamas } = s;
  assert.equal(pajamas().code, 2);
  // A text far shorter than two windows of 4096 tokens, whatever the tokenizer.
  const shortText = path.join(work, 'short.txt');
  writeFileSync(shortText, 'Once upon a time there was a little dog. '.repeat(50));
  const short = pajamas(q4, '--text', shortText, '--ctx', '4096');
  assert.equal(short.code, 2);
  assert.match(short.stderr, /tokenizes to \d+ tokens; a context of 4096 needs at least 8192/);
  const badCtx = pajamas(q4, '--ctx', '3');
  assert.equal(badCtx.code, 2);
  assert.match(badCtx.stderr, /--ctx must be an integer of at least/);
});
