/** The worker's job registry: one job per output folder, cancel reaching the job's signal, throttled progress. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CancelledError, type PajamasError } from '../../../src/core/errors';
import type { Progress } from '../../../src/core/job';
import { JobRegistry, PROGRESS_INTERVAL_MS } from '../../../src/server/jobs';

function registry() {
  const progress: { jobId: string; p: Progress }[] = [];
  const logs: string[] = [];
  const jobs = new JobRegistry({ progress: (jobId, p) => progress.push({ jobId, p }), log: (_id, line) => logs.push(line) });
  return { jobs, progress, logs };
}

/** A job that runs until its signal aborts. */
const untilCancelled = (opts: { signal?: AbortSignal }) =>
  new Promise<never>((_, reject) => opts.signal!.addEventListener('abort', () => reject(opts.signal!.reason)));

test('a second job on the same folder is refused while the first runs, and runs after it', async () => {
  const { jobs } = registry();
  const first = jobs.run({ jobId: 'a', method: 'quantize', folder: '/out/x' }, untilCancelled);
  await assert.rejects(
    jobs.run({ jobId: 'b', method: 'quantize', folder: '/out/x/../x' }, async () => 1),
    (e: PajamasError) => e.code === 'usage' && /another job \(quantize/.test(e.message) && e.message.includes('/out/x'),
  );
  // Another folder, and a job that writes nothing, run alongside.
  assert.equal(await jobs.run({ jobId: 'c', method: 'quantize', folder: '/out/y' }, async () => 2), 2);
  assert.equal(await jobs.run({ jobId: 'd', method: 'verify', folder: null }, async () => 3), 3);
  assert.deepEqual(
    jobs.running().map((j) => j.jobId),
    ['a'],
  );
  assert.ok(jobs.cancel('a'));
  await assert.rejects(first, CancelledError);
  assert.equal(await jobs.run({ jobId: 'b', method: 'quantize', folder: '/out/x' }, async () => 4), 4);
  assert.deepEqual(jobs.running(), []);
});

test('cancel reaches the job through its signal; a job that ends as the cancel lands still reports cancelled', async () => {
  const { jobs } = registry();
  let seen: AbortSignal | undefined;
  const job = jobs.run({ jobId: 'a', method: 'quantize', folder: null }, async (opts) => {
    seen = opts.signal;
    await new Promise((r) => setTimeout(r, 20));
    return 'done';
  });
  jobs.cancel('a');
  await assert.rejects(job, CancelledError);
  assert.ok(seen?.aborted);
  assert.equal(jobs.cancel('a'), false, 'a finished job cannot be cancelled');
  assert.equal(jobs.cancel('nope'), false);
});

test('the request cancellation ($/cancelRequest) aborts the job too', async () => {
  const { jobs } = registry();
  let fire: () => void = () => undefined;
  const job = jobs.run({ jobId: 'a', method: 'plan', folder: null, onCancel: (l) => (fire = l) }, untilCancelled);
  fire();
  await assert.rejects(job, CancelledError);
});

test('progress is throttled per job, but each new step and each completion is sent', async () => {
  const { jobs, progress } = registry();
  await jobs.run({ jobId: 'a', method: 'quantize', folder: null }, async (opts) => {
    for (let i = 0; i < 100; i++) opts.onProgress!({ step: 'convert', done: i, total: 100 });
    opts.onProgress!({ step: 'convert', done: 100, total: 100 });
    opts.onProgress!({ step: 'quantize', done: 0, total: 5 });
    await new Promise((r) => setTimeout(r, PROGRESS_INTERVAL_MS + 20));
    opts.onProgress!({ step: 'quantize', done: 1, total: 5 });
  });
  assert.deepEqual(
    progress.map(({ p }) => `${p.step} ${p.done}`),
    ['convert 0', 'convert 100', 'quantize 0', 'quantize 1'],
  );
});

test('a report held back by the throttle is sent when the interval ends (the last progress before a pause)', async () => {
  const { jobs, progress } = registry();
  await jobs.run({ jobId: 'a', method: 'hubDownload', folder: null }, async (opts) => {
    opts.onProgress!({ step: 'download', done: 10, total: 100 });
    opts.onProgress!({ step: 'download', done: 20, total: 100 });
    opts.onProgress!({ step: 'download', done: 30, total: 100 });
    // A stalled transfer: nothing new for longer than the interval.
    await new Promise((r) => setTimeout(r, PROGRESS_INTERVAL_MS * 3));
    assert.deepEqual(
      progress.map(({ p }) => p.done),
      [10, 30],
    );
    opts.onProgress!({ step: 'download', done: 40, total: 100 });
    opts.onProgress!({ step: 'download', done: 50, total: 100 });
  });
  // Held when the job ended, and dropped with it: nothing arrives after the job's result.
  await new Promise((r) => setTimeout(r, PROGRESS_INTERVAL_MS * 2));
  assert.deepEqual(
    progress.map(({ p }) => p.done),
    [10, 30, 40],
  );
});

test('job ids are unique while running', async () => {
  const { jobs } = registry();
  const a = jobs.run({ jobId: 'a', method: 'x', folder: null }, untilCancelled);
  await assert.rejects(
    jobs.run({ jobId: 'a', method: 'x', folder: null }, async () => 1),
    (e: PajamasError) => e.code === 'usage',
  );
  jobs.cancelAll();
  await assert.rejects(a, CancelledError);
});
