/**
 * The worker's jobs: each long request runs as one job with its own AbortController, a throttled
 * progress stream and log lines tagged with its id. A job that writes an output folder holds that
 * folder for its whole run, so two jobs of this worker never write the same folder at once (the
 * second is refused with a message naming the first); the core's own lock covers other processes.
 */
import path from 'node:path';
import { CancelledError, UsageError } from '../core/errors';
import type { JobOptions, Progress } from '../core/job';
import type { RunningJob } from '../protocol/worker';

/** At most one progress notification per job per interval; a new step is always sent at once. */
export const PROGRESS_INTERVAL_MS = 100;

export interface JobSink {
  progress(jobId: string, progress: Progress): void;
  log(jobId: string | null, line: string, level: 'info' | 'error'): void;
}

interface Job {
  id: string;
  method: string;
  folder: string | null;
  controller: AbortController;
  startedAt: Date;
}

export interface JobSpec {
  jobId: string;
  method: string;
  /** The folder the job writes; null for jobs that only read. */
  folder: string | null;
  /** The request's own cancellation ($/cancelRequest), besides pajamas/cancelJob. */
  onCancel?: (listener: () => void) => void;
}

export class JobRegistry {
  private readonly jobs = new Map<string, Job>();

  constructor(private readonly sink: JobSink) {}

  /** Runs `fn` as a job; rejects at once when the id is taken or the folder is busy. */
  async run<T>(spec: JobSpec, fn: (opts: JobOptions) => Promise<T>): Promise<T> {
    if (this.jobs.has(spec.jobId)) throw new UsageError(`a job with id ${spec.jobId} is already running`);
    const folder = spec.folder === null ? null : path.resolve(spec.folder);
    const holder = folder === null ? undefined : [...this.jobs.values()].find((j) => j.folder === folder);
    if (holder) {
      throw new UsageError(
        `another job (${holder.method}, started ${holder.startedAt.toLocaleTimeString()}) is already writing to ${folder}; ` +
          'wait for it to finish or cancel it, or choose another output folder',
        { folder, busyWith: holder.method },
      );
    }
    const job: Job = { id: spec.jobId, method: spec.method, folder, controller: new AbortController(), startedAt: new Date() };
    this.jobs.set(job.id, job);
    spec.onCancel?.(() => this.cancel(job.id));
    const log = (line: string) => this.sink.log(job.id, line, 'info');
    const progress = this.throttledProgress(job.id);
    try {
      log(`${spec.method} started${folder ? ` (writing ${folder})` : ''}`);
      const result = await fn({ signal: job.controller.signal, onProgress: progress.report, log });
      // A cancel that arrived as the job finished still counts: the user saw the Cancel take effect.
      if (job.controller.signal.aborted) throw new CancelledError();
      log(`${spec.method} finished`);
      return result;
    } finally {
      progress.stop();
      this.jobs.delete(job.id);
    }
  }

  /** Aborts a running job; unknown ids (already finished) are ignored. */
  cancel(jobId: string): boolean {
    const job = this.jobs.get(jobId);
    if (!job || job.controller.signal.aborted) return false;
    this.sink.log(jobId, `${job.method}: cancel requested`, 'info');
    job.controller.abort(new CancelledError());
    return true;
  }

  cancelAll(): void {
    for (const id of this.jobs.keys()) this.cancel(id);
  }

  running(): RunningJob[] {
    return [...this.jobs.values()].map((j) => ({ jobId: j.id, method: j.method, folder: j.folder }));
  }

  /**
   * At most one notification per interval; a report that arrives too soon is held and sent when the
   * interval ends (unless a newer one replaces it), so the last progress before a pause (a stalled
   * download, a long step) is never lost. Returns the reporter and a stop for when the job ends.
   */
  private throttledProgress(jobId: string): { report: (p: Progress) => void; stop: () => void } {
    let lastStep = '';
    let lastSent = 0;
    let held: Progress | undefined;
    let timer: NodeJS.Timeout | undefined;
    const send = (p: Progress) => {
      lastStep = p.step;
      lastSent = performance.now();
      held = undefined;
      this.sink.progress(jobId, p);
    };
    const stop = () => {
      clearTimeout(timer);
      timer = undefined;
      held = undefined;
    };
    const report = (p: Progress) => {
      const now = performance.now();
      const finished = p.total !== undefined && p.done === p.total;
      if (p.step !== lastStep || finished || now - lastSent >= PROGRESS_INTERVAL_MS) {
        stop();
        send(p);
        return;
      }
      held = p;
      timer ??= setTimeout(
        () => {
          timer = undefined;
          if (held) send(held);
        },
        PROGRESS_INTERVAL_MS - (now - lastSent),
      );
    };
    return { report, stop };
  }
}
