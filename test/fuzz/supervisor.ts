/**
 * Runs CLI commands in a child process (./cli-worker.ts) under bounds: a time limit per command,
 * a resident-memory limit sampled from /proc while it runs, and the child's death (a native abort,
 * a signal, an unhandled rejection) attributed to the command in flight. A child that broke a
 * bound is replaced by a fresh one for the next command.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

export type Outcome =
  | { kind: 'exit'; code: number; stdout: string; stderr: string; ms: number; peakRssBytes: number | null }
  | { kind: 'crash'; detail: string; nativeStderr: string }
  | { kind: 'hang'; ms: number }
  | { kind: 'memory'; rssBytes: number };

export interface SupervisorOptions {
  env: NodeJS.ProcessEnv;
  /** Resident memory the child may reach while running one command. */
  maxRssBytes: number;
  /** V8 heap cap of the child, so runaway allocation fails fast instead of swapping. */
  maxOldSpaceMb: number;
}

const WORKER = path.join(__dirname, 'cli-worker.ts');
const RSS_SAMPLE_MS = 50;

interface Pending {
  id: number;
  resolve: (o: Outcome) => void;
}

export class CliSupervisor {
  private child: ChildProcess | null = null;
  private ready: Promise<void> | null = null;
  private pending: Pending | null = null;
  private nativeStderr = '';
  private nextId = 0;
  private lastArgv: string[] = [];
  private killing = false;
  /** Deaths of the child between commands (an unhandled rejection after a command returned), with the command before. */
  readonly lateDeaths: { argv: string[]; detail: string; nativeStderr: string }[] = [];

  constructor(private readonly opts: SupervisorOptions) {}

  private start(): Promise<void> {
    const child = spawn(process.execPath, [`--max-old-space-size=${this.opts.maxOldSpaceMb}`, '--import', 'tsx', WORKER], {
      env: this.opts.env,
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.child = child;
    this.nativeStderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      this.nativeStderr = (this.nativeStderr + chunk.toString()).slice(-4000);
    });
    this.ready = new Promise((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code, signal) =>
        reject(new Error(`the fuzz worker died while starting (${signal ?? code}): ${this.nativeStderr}`)),
      );
    });
    child.on('message', (m: { id?: number } & Record<string, unknown>) => {
      if (m.id === undefined || this.pending?.id !== m.id) return;
      const p = this.pending;
      this.pending = null;
      p.resolve({ kind: 'exit', ...(m as unknown as Omit<Extract<Outcome, { kind: 'exit' }>, 'kind'>) });
    });
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = null;
      const detail = signal ? `killed by ${signal}` : `exited with ${code}`;
      const p = this.pending;
      if (!p) {
        if (!this.killing) this.lateDeaths.push({ argv: this.lastArgv, detail, nativeStderr: this.nativeStderr });
        return;
      }
      this.pending = null;
      p.resolve({ kind: 'crash', detail, nativeStderr: this.nativeStderr });
    });
    return this.ready;
  }

  /** Runs `pajamas <argv>` and reports how it ended. */
  async run(argv: string[], timeoutMs: number): Promise<Outcome> {
    if (!this.child) await this.start();
    else await this.ready;
    const child = this.child!;
    const id = this.nextId++;
    this.lastArgv = argv;
    const started = Date.now();
    let peak = 0;
    const outcome = await new Promise<Outcome>((resolve) => {
      const finish = (o: Outcome) => {
        clearInterval(sampler);
        clearTimeout(timer);
        resolve(o);
      };
      this.pending = { id, resolve: finish };
      const sampler = setInterval(() => {
        const rss = residentBytes(child.pid!);
        peak = Math.max(peak, rss);
        if (rss > this.opts.maxRssBytes && this.pending?.id === id) {
          this.pending = null;
          finish({ kind: 'memory', rssBytes: rss });
        }
      }, RSS_SAMPLE_MS);
      const timer = setTimeout(() => {
        if (this.pending?.id !== id) return;
        this.pending = null;
        finish({ kind: 'hang', ms: Date.now() - started });
      }, timeoutMs);
      child.send({ id, argv });
    });
    if (outcome.kind === 'hang' || outcome.kind === 'memory') await this.kill();
    if (outcome.kind === 'exit' && outcome.peakRssBytes === null) outcome.peakRssBytes = peak || null;
    return outcome;
  }

  private async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    this.killing = true;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    this.killing = false;
  }

  async close(): Promise<void> {
    await this.kill();
  }
}

function residentBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}
