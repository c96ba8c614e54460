#!/usr/bin/env node
// The real-VS-Code test harness (`node scripts/run-tests.mjs vscode` runs it): installs code-server
// (VS Code 1.100.3) once per machine, starts it on loopback with throwaway profiles, runs
//   (a) the in-host mocha suite (test/vscode/suite, bundled to dist/test/vscode/suite), and
//   (b) UI tests in headless Chromium (screenshots in test-output/vscode/),
// then kills code-server's whole process group. Missing OS packages skip it (fail under CI=true).
// Environment: PAJAMAS_VSCODE_TIMEOUT_S (tests, default 3600), PAJAMAS_VSCODE_GREP (mocha grep),
// PAJAMAS_VSCODE_KEEP=1 (keep the scratch folder), PAJAMAS_VSCODE_ONLY=host|ui|vsix (one phase), VERBOSE=1 (browser console),
// PAJAMAS_VSCODE_STEPS=<text> (only the UI steps whose name contains it),
// PAJAMAS_CODE_SERVER_DIR, PAJAMAS_CHROMIUM, PAJAMAS_VSIX_TOOLS_DIR (the VSIX of phase c ships
// these tools instead of the portable build). `--build-only` only builds the suite (for
// @vscode/test-electron: extensionTestsPath dist/test/vscode/suite/index, workspace test/vscode/workspace).
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { codeServerHome, ensureCodeServer, isInstalled, startCodeServer } from './harness/code-server.mjs';
import { prepareArtifacts } from './harness/artifact-fixtures.mjs';
import { buildHfCache, copySharedModels, sharedRoot } from './harness/fixtures.mjs';
import { APT_PACKAGES, chromiumPath, missingPreconditions } from './harness/preconditions.mjs';
import { runUiTests } from './harness/ui-test.mjs';
import { VSIX_STEPS } from './harness/ui-steps-vsix.mjs';
import { runVsixPhase } from './harness/vsix.mjs';
import { launchBrowser, runHostSuite, workbenchUrl } from './harness/workbench.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const SUITE_OUT = path.join(ROOT, 'dist', 'test', 'vscode', 'suite');
const SHOTS = path.join(ROOT, 'test-output', 'vscode');
// Generous: the suites quantize and evaluate real models, which a busy machine slows down a lot.
const TESTS_TIMEOUT_MS = Number(process.env.PAJAMAS_VSCODE_TIMEOUT_S ?? 3600) * 1000;
const HOST_SUITE_TIMEOUT_MS = 25 * 60_000;

const t0 = Date.now();
const log = (line) => console.log(`[vscode ${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}`);

function checkPreconditions() {
  const missing = missingPreconditions({ needInstall: !isInstalled() });
  if (!missing.length) return;
  const hint = `install them with: apt-get install -y --no-install-recommends ${APT_PACKAGES.join(' ')}`;
  if (process.env.CI === 'true') {
    console.error(`vscode suite: missing ${missing.join('; ')}\n${hint}\nCI=true makes this a failure.`);
    process.exit(1);
  }
  console.log(`vscode suite SKIPPED: missing ${missing.join('; ')}\n${hint}`);
  process.exit(0);
}

/** The extension bundle (as shipped) and the in-host suite (mocha bundled in, vscode external). */
async function build() {
  const r = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('node esbuild.mjs failed');
  rmSync(SUITE_OUT, { recursive: true, force: true });
  const suiteDir = path.join(HERE, 'suite');
  const entryPoints = readdirSync(suiteDir)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.join(suiteDir, f));
  await esbuild.build({
    entryPoints,
    outdir: SUITE_OUT,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode'],
    sourcemap: 'inline',
    logLevel: 'error',
  });
}

/** Where the project's per-machine caches are (core/llamacpp/cache.ts's rule). */
function machineCacheDir() {
  if (process.env.XDG_CACHE_HOME) return path.join(process.env.XDG_CACHE_HOME, 'llama-pajamas');
  return path.join(os.homedir(), '.cache', 'llama-pajamas');
}

/** A scratch folder (workspace copy, profiles, temp files) that goes away when the process exits. */
function prepareScratch() {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'pajamas-vscode-'));
  const keep = process.env.PAJAMAS_VSCODE_KEEP === '1';
  process.on('exit', () => {
    if (keep) return console.log(`scratch kept: ${scratch}`);
    try {
      rmSync(scratch, { recursive: true, force: true, maxRetries: 3 });
    } catch (e) {
      console.error(`could not remove ${scratch}: ${e.message}`);
    }
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => process.exit(130));
  // Playwright's profiles and artifacts too, so that even a killed run leaves nothing behind.
  process.env.TMPDIR = path.join(scratch, 'tmp');
  mkdirSync(process.env.TMPDIR);
  cpSync(path.join(HERE, 'workspace'), path.join(scratch, 'ws'), { recursive: true });
  const shared = sharedRoot(ROOT);
  const copied = copySharedModels(path.join(scratch, 'ws'), shared);
  // The extension host (and its worker) inherit code-server's environment.
  const hfCache = buildHfCache(path.join(scratch, 'hf-cache'), shared);
  if (hfCache) process.env.HF_HUB_CACHE = hfCache;
  // The llama.cpp tools built on this machine (npm run build:llama), not a fresh build in the
  // scratch profile's XDG cache: code-server's XDG_CACHE_HOME points into the scratch folder.
  process.env.PAJAMAS_CACHE_DIR ??= machineCacheDir();
  log(copied.length ? `copied ${copied.join(', ')} from ${shared}` : `no ${shared}: the tests that need its models skip`);
  rmSync(SHOTS, { recursive: true, force: true });
  mkdirSync(SHOTS, { recursive: true });
  process.env.PAJAMAS_VSCODE_OUTPUT = path.join(SHOTS, 'output-channel.log');
  return scratch;
}

/** Which phases run: all, or the one PAJAMAS_VSCODE_ONLY names (host, ui, vsix). */
const wants = (phase) => !process.env.PAJAMAS_VSCODE_ONLY || process.env.PAJAMAS_VSCODE_ONLY === phase;

/** (a) then (b) against a running code-server; each races the server's crash. */
async function runSuites(server, scratch) {
  const ws = path.join(scratch, 'ws');
  const mocha = { passing: 0, failing: 0, pending: 0 };
  const print = (line) => {
    console.log(`  ${line}`);
    // mocha's spec reporter ends with "N passing", "N failing", "N pending".
    const m = /^\s*(\d+) (passing|failing|pending)\b/.exec(line);
    if (m) mocha[m[2]] = Number(m[1]);
  };
  const browser = await launchBrowser(chromiumPath(), path.join(scratch, 'chromium'));
  try {
    const hostUrl = await workbenchUrl(server.url, {
      folder: ws,
      extensionDevelopmentPath: ROOT,
      extensionTestsPath: path.join(SUITE_OUT, 'index'),
    });
    let hostCode = 0;
    if (wants('host')) {
      log('(a) in-host mocha suite');
      const verbose = process.env.VERBOSE === '1';
      hostCode = await Promise.race([runHostSuite(browser, hostUrl, { timeoutMs: HOST_SUITE_TIMEOUT_MS, verbose, print }), server.crashed]);
      log(`(a) in-host suite exit code ${hostCode}`);
    } else mocha.passing = -1; // not run: counts as neither passing nor failing

    let ui = { passed: 0, failed: 0 };
    if (wants('ui')) {
      log('(b) UI tests');
      const uiUrl = await workbenchUrl(server.url, { folder: ws, extensionDevelopmentPath: ROOT });
      ui = await Promise.race([
        runUiTests(browser, uiUrl, { shotsDir: SHOTS, workspace: ws, log: (line) => log(`  ${line}`) }),
        server.crashed,
      ]);
      log(`(b) UI tests: ${ui.passed} passed, ${ui.failed} failed; screenshots in ${path.relative(ROOT, SHOTS)}/`);
    }
    return { hostCode, mocha, ui };
  } finally {
    await browser.close().catch(() => {});
  }
}

async function main() {
  if (process.argv.includes('--build-only')) {
    // For @vscode/test-electron on a desktop: extensionTestsPath = dist/test/vscode/suite/index.
    await build();
    return 0;
  }
  checkPreconditions();
  const bin = await ensureCodeServer(log);
  log(`code-server ${codeServerHome()}`);
  // From here on, a hang anywhere ends the run: the exit handlers kill code-server and Chromium.
  setTimeout(() => {
    console.error(`vscode suite: timed out after ${TESTS_TIMEOUT_MS / 1000}s (PAJAMAS_VSCODE_TIMEOUT_S)`);
    process.exit(1);
  }, TESTS_TIMEOUT_MS).unref();

  await build();
  log('built dist/extension.js and the in-host suite');
  const scratch = prepareScratch();
  const skipped = prepareArtifacts(ROOT, path.join(scratch, 'ws'), log);
  if (skipped) log(skipped);
  let result = { hostCode: 0, mocha: { passing: -1, failing: 0, pending: 0 }, ui: { passed: 0, failed: 0 } };
  if (wants('host') || wants('ui')) {
    const server = await startCodeServer(bin, path.join(scratch, 'server'));
    log(`code-server listening on ${server.url} (process group ${server.pid})`);
    try {
      result = await runSuites(server, scratch);
    } finally {
      await server.stop();
      try {
        copyFileSync(server.logFile, path.join(SHOTS, 'code-server.log'));
      } catch {
        // no log to keep
      }
      log('code-server stopped');
    }
  }
  if (wants('vsix')) {
    log('(c) the installed VSIX');
    const vsix = await runVsixPhase({
      root: ROOT,
      bin,
      scratch,
      shotsDir: SHOTS,
      log: (line) => log(`  ${line}`),
      startCodeServer,
      launchBrowser: (dir) => launchBrowser(chromiumPath(), dir),
      workbenchUrl,
      runUiTests,
      steps: VSIX_STEPS,
    });
    log(`(c) installed VSIX: ${vsix.passed} passed, ${vsix.failed} failed`);
    result.ui.passed += vsix.passed;
    result.ui.failed += vsix.failed;
  }
  const { hostCode, mocha, ui } = result;
  const ok = hostCode === 0 && ui.failed === 0 && mocha.passing !== 0;
  if (hostCode === 0 && !mocha.passing) console.error('vscode suite: the in-host suite reported no passing test');
  mocha.passing = Math.max(0, mocha.passing);
  console.log(`vscode suite: ${ok ? 'passed' : 'FAILED'} (in-host suite exit ${hostCode}; UI ${ui.passed} passed, ${ui.failed} failed)`);
  const failed = mocha.failing + ui.failed + (hostCode !== 0 && !mocha.failing ? 1 : 0);
  console.log(`vscode: ${mocha.passing + ui.passed} passed, ${failed} failed, ${mocha.pending} skipped`);
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`vscode suite: ${e.stack ?? e}`);
    process.exit(1);
  },
);
