/**
 * Jobs in the worker, driven from the extension host: a quantization of a copy of a shared model
 * whose manifest `pajamas verify` accepts (with the host's worst event-loop stall measured while
 * it runs), a cancel mid-job that leaves nothing finished-looking, and a worker killed mid-job.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type * as vscode from 'vscode';
import type { PajamasError } from '../../../src/core/errors';
import { isTempPath } from '../../../src/core/fs/atomic';
import type { QuantizeRequest } from '../../../src/core/pipeline/options';
import type { PajamasApi, PajamasTesting } from '../../../src/extension/api';
import { activated, copiedModel, reportFigure } from './helpers';

/** The budget for the host's event loop while a quantization runs. */
const STALL_BUDGET_MS = 50;
/** Length of the idle reference measured before the job. */
const REFERENCE_MS = 10_000;

/** How often the stall monitor's timer asks to run. */
const TICK_MS = 5;

interface Stalls {
  /** The longest the event loop was late (ms): the host's own work plus any wait for a CPU. */
  worst: number;
  p99: number;
  /**
   * The longest lateness the host spent running (ms): of each late tick, the CPU its main thread
   * used meanwhile. Waiting for a CPU on a busy machine costs no CPU, so this is the host's own stall.
   */
  worstBusy: number;
  /** When the worst running stretch ended, in ms from the start of the watch (start, middle or end of a job?). */
  worstBusyAt: number;
}

/** The host's main thread (the event loop's thread) in Linux's scheduler statistics. */
const MAIN_THREAD_SCHEDSTAT = `/proc/self/task/${process.pid}/schedstat`;

/**
 * CPU milliseconds of the host's main thread where Linux says (schedstat's first field, time on a
 * CPU in nanoseconds: exact, where /proc's stat counts 10 ms ticks); elsewhere the whole
 * process's, which also counts GC and worker threads.
 */
function mainThreadCpuMs(): number {
  try {
    return Number(readFileSync(MAIN_THREAD_SCHEDSTAT, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  }
}

/** Watches the event loop while `during` runs. */
async function stallsDuring<T>(during: () => Promise<T>): Promise<Stalls & { value: T }> {
  const delay = monitorEventLoopDelay({ resolution: TICK_MS });
  let worstBusy = 0;
  let worstBusyAt = 0;
  const start = performance.now();
  let last = { wall: performance.now(), cpu: mainThreadCpuMs() };
  const timer = setInterval(() => {
    const now = { wall: performance.now(), cpu: mainThreadCpuMs() };
    const late = now.wall - last.wall - TICK_MS;
    const busy = Math.min(late, now.cpu - last.cpu);
    if (busy > worstBusy) [worstBusy, worstBusyAt] = [busy, now.wall - start];
    last = now;
  }, TICK_MS);
  delay.enable();
  try {
    const value = await during();
    return { worst: delay.max / 1e6, p99: delay.percentile(99) / 1e6, worstBusy, worstBusyAt, value };
  } finally {
    delay.disable();
    clearInterval(timer);
  }
}

const describeStalls = (s: Stalls) =>
  `worst ${s.worst.toFixed(0)} ms (p99 ${s.p99.toFixed(0)} ms), ` +
  `of which running ${s.worstBusy.toFixed(0)} ms (at ${(s.worstBusyAt / 1000).toFixed(1)} s)`;

let testing: PajamasTesting;
let extension: vscode.Extension<PajamasApi>;
let outRoot: string;

/**
 * A quick job: no importance matrix, no evaluation and no check against stock (each of those runs
 * llama-perplexity: with the check, the stall test's job took over 15 minutes at load 20 on 2 cores).
 * The host's side of a job (progress, log lines, the result) is the same with or without them.
 */
function request(model: string, outDir: string, more: Partial<QuantizeRequest> = {}): QuantizeRequest {
  return { model, outDir, formats: ['gguf'], targets: ['Q8_0'], imatrix: { kind: 'off' }, evaluate: false, stockCheck: false, ...more };
}

/** The PajamasError a job rejected with (its class lives in the extension's bundle, not this one). */
async function rejection(p: Promise<unknown>): Promise<Pick<PajamasError, 'code' | 'message'>> {
  try {
    await p;
  } catch (error) {
    const e = error as Partial<PajamasError>;
    assert.ok(typeof e.code === 'string' && typeof e.message === 'string', `not a PajamasError: ${String(error)}`);
    return { code: e.code, message: e.message };
  }
  assert.fail('the job did not fail');
}

describe('Jobs', function () {
  // Real quantizations on a shared machine.
  this.timeout(15 * 60_000);

  before(async () => {
    ({ testing, extension } = await activated());
    // Outside the workspace: the UI tests start from a view without artifacts.
    outRoot = await mkdtemp(path.join(os.tmpdir(), 'pajamas-jobs-'));
  });

  // A test that timed out leaves its job running: cancel it, so the next test starts alone.
  afterEach(() => {
    for (const id of testing.runningJobs()) testing.cancelJob(id);
  });

  after(() => rm(outRoot, { recursive: true, force: true }));

  it('quantizes a copy of a shared model into a manifest that pajamas verify accepts, without stalling the host', async function () {
    const model = copiedModel(this, 'models/stories-hf');
    const outDir = path.join(outRoot, 'first');
    // The reference, side by side: the same host, idle, on the same (possibly busy) machine.
    const idle = await stallsDuring(() => new Promise((resolve) => setTimeout(resolve, REFERENCE_MS)));
    const started = performance.now();
    const job = await stallsDuring(() => testing.quantize(request(model, outDir, { targets: ['Q8_0', 'Q4_K_M'] })).result);
    const seconds = (performance.now() - started) / 1000;
    const r = job.value;
    reportFigure(
      'event-loop stall',
      `during a ${seconds.toFixed(0)} s quantization: ${describeStalls(job)}; idle reference: ${describeStalls(idle)}; ` +
        `load average ${os.loadavg()[0]!.toFixed(1)} on ${os.availableParallelism()} cores`,
    );
    assert.equal(r.manifest.artifacts.length, 2);
    const cli = spawnSync(process.execPath, [path.join(extension.extensionPath, 'bin', 'pajamas.js'), 'verify', r.manifestPath, '--json'], {
      encoding: 'utf8',
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    });
    assert.equal(cli.status, 0, cli.stderr);
    const verified = JSON.parse(cli.stdout) as { ok: boolean; filesChecked: number };
    assert.deepEqual([verified.ok, verified.filesChecked], [true, 2]);
    // On a busy machine the loop is also late while waiting for a CPU; the budget is for the host's own work.
    assert.ok(job.worstBusy < STALL_BUDGET_MS, `the host ran ${job.worstBusy.toFixed(1)} ms without yielding during the job`);
  });

  it('a cancel mid-job leaves nothing that looks finished, and the next job on the folder runs', async function () {
    const model = copiedModel(this, 'models/stories-hf');
    const outDir = path.join(outRoot, 'cancelled');
    const job = testing.quantize(request(model, outDir, { targets: ['Q4_K_M', 'Q5_K_M', 'Q6_K', 'Q8_0'] }));
    await testing.firstProgress(job.jobId);
    testing.cancelJob(job.jobId);
    const error = await rejection(job.result);
    assert.equal(error.code, 'cancelled');
    assert.ok(!testing.runningJobs().includes(job.jobId), 'the cancelled job is no longer running');
    const left = await readdir(outDir).catch(() => [] as string[]);
    assert.deepEqual(left.filter(isTempPath), [], 'temporary files were removed');
    const next = await testing.quantize(request(model, outDir)).result;
    assert.equal(next.manifest.artifacts.length, 1);
  });

  it('a worker killed mid-job fails the job with a clear message, and the restarted worker serves the next request', async function () {
    const model = copiedModel(this, 'models/stories-hf');
    const outDir = path.join(outRoot, 'killed');
    const job = testing.quantize(request(model, outDir, { targets: ['Q4_K_M', 'Q5_K_M', 'Q6_K', 'Q8_0'] }));
    await testing.firstProgress(job.jobId);
    const pid = testing.workerPid();
    assert.ok(pid, 'the worker is running');
    process.kill(pid, 'SIGKILL');
    const error = await rejection(job.result);
    assert.equal(error.code, 'failure');
    assert.match(error.message, /the worker stopped while quantizing was running.*has restarted/);
    const info = await testing.workerInfo();
    assert.notEqual(info.pid, pid, 'a new worker answers');
    const next = await testing.quantize(request(model, outDir)).result;
    assert.equal(next.manifest.artifacts.length, 1);
  });
});
