/**
 * quantize under faults: killed with SIGKILL at seeded random moments of each step (conversion,
 * importance matrix, llama-quantize, evaluation, the manifest writes after each artifact) and run
 * again; two runs into one folder at once; a disk that fills up. Each ends with a manifest that
 * verifies, nothing half-written that looks finished, no leftovers, and clear messages.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { FailureError } from '../../../src/core/errors';
import { preflightGguf } from '../../../src/core/formats/gguf-preflight';
import { isTempPath } from '../../../src/core/fs/atomic';
import { readManifest } from '../../../src/core/manifest/io';
import { verifyManifest } from '../../../src/core/manifest/verify';
import { OUTPUT_LOCK_FILE } from '../../../src/core/pipeline/output-lock';
import { quantizeModel } from '../../../src/core/pipeline/quantize';
import { FuzzRng } from '../../fuzz/random';
import { projectRoot, sharedAsset } from '../../helpers/env';
import { llamaToolsOrSkip } from '../../helpers/llama-tools';

const CLI = path.join(projectRoot, 'bin', 'pajamas.js');
/** Short calibration and evaluation texts keep each of the many runs to seconds of tool time. */
const TEXTS = mkdtempSync(path.join(os.tmpdir(), 'pajamas-fault-texts-'));
writeFileSync(
  path.join(TEXTS, 'calibration.txt'),
  readFileSync(path.join(projectRoot, 'data', 'calibration', '01-prose.txt'), 'utf8').slice(0, 9000),
);
writeFileSync(path.join(TEXTS, 'eval.txt'), readFileSync(path.join(projectRoot, 'data', 'eval-default.txt'), 'utf8').slice(0, 5000));
process.on('exit', () => rmSync(TEXTS, { recursive: true, force: true }));
const ARGS = [
  ...['--formats', 'gguf', '--targets', 'Q4_K_M,Q8_0', '--ctx', '128'],
  ...['--calibration', path.join(TEXTS, 'calibration.txt'), '--eval-text', path.join(TEXTS, 'eval.txt')],
];
/** What each step prints on stderr when it starts (progress lines and the tools' command lines). */
const STEP_MARKERS = ['convert', 'running llama-imatrix', 'running llama-quantize', 'running llama-perplexity', 'evaluate'];

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pajamas-faults-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs quantize and SIGKILLs it `delayMs` after `marker` appears on stderr; false when it finished first. */
function killAt(model: string, outDir: string, marker: string, delayMs: number): Promise<boolean> {
  const child = spawn(process.execPath, [CLI, 'quantize', model, '-o', outDir, ...ARGS], { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve) => {
    let armed = false;
    child.stderr.on('data', (chunk: Buffer) => {
      if (
        armed ||
        !chunk
          .toString()
          .split('\n')
          .some((l) => l.startsWith(marker))
      )
        return;
      armed = true;
      setTimeout(() => child.kill('SIGKILL'), delayMs);
    });
    child.on('exit', (_code, signal) => resolve(signal === 'SIGKILL'));
  });
}

/** Every final-looking file in the folder is complete: a whole GGUF, or the manifest. */
async function assertNothingHalfWritten(outDir: string, context: string): Promise<void> {
  for (const name of readdirSync(outDir)) {
    if (isTempPath(name) || name === OUTPUT_LOCK_FILE) continue;
    if (name.endsWith('.gguf')) await preflightGguf(path.join(outDir, name), { kind: name.endsWith('imatrix.gguf') ? 'data' : 'model' });
    else if (name === 'manifest.json') await readManifest(outDir);
    else assert.fail(`${context}: unexpected file ${name}`);
  }
}

test('kill -9 at random points of every step, then a rerun: a verified manifest and no leftovers', async (t) => {
  const model = sharedAsset(t, 'models/stories260K-hf');
  if (!model || !(await llamaToolsOrSkip(t))) return;
  const outDir = tempDir(t);
  const rng = new FuzzRng(Number(process.env.PAJAMAS_FAULT_SEED ?? 16));
  const killed: string[] = [];
  for (const marker of STEP_MARKERS) {
    const delay = rng.int(400);
    if (await killAt(model, outDir, marker, delay)) killed.push(`${marker} +${delay} ms`);
    await assertNothingHalfWritten(outDir, `after a kill at ${marker}`);
  }
  assert.ok(killed.length >= 3, `killed at least three steps: ${killed.join(', ')}`);
  const rerun = spawnSync(process.execPath, [CLI, 'quantize', model, '-o', outDir, ...ARGS], { encoding: 'utf8' });
  assert.equal(rerun.status, 0, rerun.stderr);
  const report = await verifyManifest(outDir);
  assert.deepEqual(report.problems, []);
  assert.equal(report.manifest.artifacts.length, 2);
  const listed = new Set(['manifest.json', ...report.manifest.artifacts.map((a) => a.path), report.manifest.calibration!.imatrix.path]);
  assert.deepEqual(
    readdirSync(outDir).filter((f) => !listed.has(f)),
    [],
    `no leftovers after the kills at ${killed.join(', ')}`,
  );
});

test("two quantize runs into one folder: the second waits and reuses the first one's work; --no-wait refuses", async (t) => {
  const model = sharedAsset(t, 'models/stories260K-hf');
  if (!model || !(await llamaToolsOrSkip(t))) return;
  const outDir = tempDir(t);
  // Neither the check against stock nor the evaluation is what this test is about: both left out to keep it short.
  const quick = ['--formats', 'gguf', '--targets', 'Q8_0', '--imatrix', 'off', '--no-stock-check'];
  const args = [CLI, 'quantize', model, '-o', outDir, ...quick, '--no-eval'];
  const run = () =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
  const [a, b] = await Promise.all([run(), run()]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  const waited = [a, b].filter((r) => /is being written by process \d+ .*waiting for it to finish/.test(r.stderr));
  assert.equal(waited.length, 1, 'exactly one run waited for the other');
  assert.match(waited[0]!.stdout, /^skipped /m, 'the waiting run reused the artifact the first one built');
  assert.deepEqual((await verifyManifest(outDir)).problems, []);

  // --no-wait: a second run refuses while the first holds the folder. The first is stopped (SIGSTOP)
  // once it evaluates, so it holds the folder for as long as the second run takes, however slow the machine.
  const evaluating = [CLI, 'quantize', model, '-o', outDir, ...quick, '--eval-text', path.join(TEXTS, 'eval.txt'), '--ctx', '128'];
  const first = spawn(process.execPath, evaluating, { stdio: ['ignore', 'ignore', 'pipe'] });
  const firstExit = new Promise<number | null>((resolve) => first.on('exit', resolve));
  await new Promise<void>((resolve) =>
    first.stderr.on('data', (c: Buffer) => c.toString().includes('running llama-perplexity') && resolve()),
  );
  first.kill('SIGSTOP');
  const refused = spawnSync(process.execPath, [...args, '--no-wait'], { encoding: 'utf8' });
  first.kill('SIGCONT');
  assert.equal(await firstExit, 0, 'the first run finished once resumed');
  assert.equal(refused.status, 1);
  assert.match(
    refused.stderr,
    new RegExp(`${outDir.replace(/[/.]/g, '\\$&')} is being written by process \\d+ .*refusing to write into it at the same time`),
  );
  assert.deepEqual((await verifyManifest(outDir)).problems, []);
});

/** A small tmpfs for the disk-full test; skips (or fails under CI=true) when none can be mounted. */
function smallDisk(t: TestContext, megabytes: number): string | undefined {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pajamas-disk-'));
  const mounted = process.getuid?.() === 0 && spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${megabytes}m`, 'tmpfs', dir]).status === 0;
  t.after(() => {
    if (mounted) spawnSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  });
  if (!mounted) {
    const message = 'needs to mount a small tmpfs (run as root where mount works) to fill a disk';
    if (process.env.CI === 'true') throw new Error(`${message}; CI=true makes this a failure`);
    t.skip(message);
    return undefined;
  }
  return dir;
}

function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return Number(s.bavail) * Number(s.bsize);
}

test('a disk that fills up: a clear error naming the folder and the space needed, the previous manifest intact', async (t) => {
  const model = sharedAsset(t, 'models/stories260K-hf');
  if (!model || !(await llamaToolsOrSkip(t))) return;
  const disk = smallDisk(t, 12);
  if (!disk) return;
  const outDir = path.join(disk, 'out');
  const request = { model, outDir, formats: ['gguf' as const], imatrix: { kind: 'off' as const }, evaluate: false, stockCheck: false };
  await quantizeModel({ ...request, targets: ['Q8_0'] });
  const before = readFileSync(path.join(outDir, 'manifest.json'));
  const filler = path.join(disk, 'filler');

  // The disk fills up while the second run converts (after its free-space check passed).
  let filled = false;
  const fill = (p: { step: string }) => {
    if (filled || p.step !== 'convert') return;
    filled = true;
    writeFileSync(filler, Buffer.alloc(Math.max(0, freeBytes(disk) - 4096)));
  };
  await assert.rejects(quantizeModel({ ...request, targets: ['Q8_0', 'Q4_K_M'] }, { onProgress: fill }), (e: unknown) => {
    assert.ok(e instanceof FailureError, String(e));
    assert.match(
      e.message,
      new RegExp(
        `^no space left on the device in ${outDir.replace(/[/.]/g, '\\$&')} \\(writing .*F16.gguf\\): this needs about .* are free`,
      ),
    );
    return true;
  });
  assert.ok(filled);
  assert.deepEqual(readFileSync(path.join(outDir, 'manifest.json')), before, 'the previous manifest is untouched');
  assert.deepEqual(
    readdirSync(outDir).filter((f) => isTempPath(f) || f === OUTPUT_LOCK_FILE),
    [],
    'no half-written files, no lock',
  );
  rmSync(filler);
  assert.deepEqual((await verifyManifest(outDir)).problems, []);

  // Too little space from the start: the check before any work says so.
  writeFileSync(filler, Buffer.alloc(Math.max(0, freeBytes(disk) - 64 * 1024)));
  await assert.rejects(
    quantizeModel({ ...request, targets: ['Q8_0', 'Q4_K_M'] }),
    (e: unknown) =>
      e instanceof FailureError &&
      new RegExp(`not enough free disk space in ${outDir.replace(/[/.]/g, '\\$&')}: .* needed`).test(e.message),
  );
  assert.deepEqual(readFileSync(path.join(outDir, 'manifest.json')), before);
});
