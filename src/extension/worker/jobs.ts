/**
 * Long jobs as the user sees them: a notification with the job's step and percentage and a Cancel
 * button that reaches the worker (pajamas/cancelJob, then the core job's AbortSignal). The client's
 * built-in $/progress would only reach the status bar, so the notification is wired here. Other
 * views (the Strategy webview) follow the same job through `onDidChange` and may cancel it too.
 */
import * as vscode from 'vscode';
import type { Progress } from '../../core/job';
import { formatBytes } from '../../core/units';
import type { PajamasOutput } from '../output';
import type { WorkerClient } from './client';

export interface JobStart<R> {
  /** Short kind, part of the job id ("quantize", "verify"). */
  kind: string;
  /** The notification's title, e.g. "Quantizing tiny-llama". */
  title: string;
  /** Sends the request for `jobId`; resolves or rejects when the worker is done with it. */
  send: (jobId: string) => Promise<R>;
}

export interface RunningJobInfo {
  jobId: string;
  kind: string;
  title: string;
  progress: Progress | null;
}

export class JobRunner implements vscode.Disposable {
  private readonly running = new Map<string, RunningJobInfo>();
  private readonly changed = new vscode.EventEmitter<RunningJobInfo & { finished: boolean }>();
  /** Fires on progress and when a job ends (finished: true), whatever its outcome. */
  readonly onDidChange = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly worker: WorkerClient,
    private readonly output: PajamasOutput,
  ) {
    this.subscription = worker.onJobProgress(({ jobId, progress }) => {
      const job = this.running.get(jobId);
      if (!job) return;
      job.progress = progress;
      this.changed.fire({ ...job, finished: false });
    });
  }

  get busy(): boolean {
    return this.running.size > 0;
  }

  jobs(): RunningJobInfo[] {
    return [...this.running.values()];
  }

  /** Starts a job with its notification; returns its id at once and the outcome as a promise. */
  start<R>(spec: JobStart<R>): { jobId: string; result: Promise<R> } {
    const jobId = this.worker.newJobId(spec.kind);
    const info: RunningJobInfo = { jobId, kind: spec.kind, title: spec.title, progress: null };
    this.running.set(jobId, info);
    this.output.log(`${spec.title} (job ${jobId})`);
    const result = vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: spec.title, cancellable: true },
      async (report, token) => {
        const onCancel = token.onCancellationRequested(() => this.cancel(jobId));
        const onProgress = this.onDidChange((e) => {
          if (e.jobId === jobId && e.progress && !e.finished) report.report({ message: describeProgress(e.progress) });
        });
        try {
          return await spec.send(jobId);
        } finally {
          onCancel.dispose();
          onProgress.dispose();
          this.running.delete(jobId);
          this.changed.fire({ ...info, finished: true });
        }
      },
    );
    return { jobId, result: Promise.resolve(result) };
  }

  cancel(jobId: string): void {
    if (!this.running.has(jobId)) return;
    this.output.log(`cancelling job ${jobId}`);
    this.worker.cancelJob(jobId);
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}

/** "convert 45% (1.20 GiB of 2.60 GiB): model.safetensors" */
export function describeProgress(p: Progress): string {
  const parts = [p.step];
  if (p.total !== undefined && p.total > 0 && p.done !== undefined) {
    const pct = Math.min(100, Math.max(0, Math.round((p.done / p.total) * 100)));
    const amounts =
      p.unit === 'bytes' ? `${formatBytes(p.done)} of ${formatBytes(p.total)}` : `${p.done} of ${p.total}${p.unit ? ` ${p.unit}` : ''}`;
    parts.push(`${pct}% (${amounts})`);
  }
  return p.message ? `${parts.join(' ')}: ${p.message}` : parts.join(' ');
}
