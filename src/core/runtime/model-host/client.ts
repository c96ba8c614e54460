/**
 * The parent's side of a model host: starts `dist/model-host.js` as a child process, sends it
 * requests and turns its end into an error. llama.cpp aborts the process on some malformed files
 * and internal errors (GGML_ASSERT); in the host that ends one child, and here it becomes a
 * FormatError (while loading) or a FailureError (later) that quotes llama.cpp's last words, while
 * the parent carries on and cleans up. One host runs one model.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { packageRoot } from '../../assets';
import { CancelledError, FailureError, FormatError, type PajamasError } from '../../errors';
import type { Logger } from '../../job';
import { trackChildProcess } from '../../llamacpp/process';
import type { GpuChoice } from '../node-llama';
import { modelHostEnvironment, modelHostExecArgv } from './environment';
import {
  type DeviceInfo,
  type HostReplies,
  type HostRequestBody,
  type ParentMessage,
  type SerializedError,
  isHostMessage,
} from './protocol';
import { deserializeError } from './errors';

export const MODEL_HOST_BUNDLE = 'model-host.js';
/** Lines of the host's stderr kept for the message when it dies (llama.cpp prints its assertion there). */
const STDERR_TAIL_LINES = 20;
/** After a close request, how long the host may take to free the model before it is killed. */
const CLOSE_GRACE_MS = 5000;
/** Signals with which a native library ends a process it finds in a bad state. */
const NATIVE_ABORTS = new Set(['SIGABRT', 'SIGSEGV', 'SIGBUS', 'SIGFPE', 'SIGILL', 'SIGTRAP']);

export interface ModelHostOptions {
  gpu?: GpuChoice;
  /** Where the host's log lines (llama.cpp warnings) go: the session that owns this host. */
  log?: Logger;
  /** Aborting while the host starts kills it. */
  signal?: AbortSignal;
  /** The host bundle (default: dist/model-host.js of this package). */
  script?: string;
}

interface Pending {
  resolve: (value: never) => void;
  reject: (error: Error) => void;
  onText?: (text: string) => void;
  /** What the request was doing, for the message if the host dies meanwhile ("generating with /x.gguf"). */
  what: string;
  /** Set on the request that loads this file: an abort then means the file is the likely cause. */
  loading?: string;
}

export interface RequestOptions {
  onText?: (text: string) => void;
  /** Sends a cancel for this request; its reply still comes (generation ends "cancelled"). */
  signal?: AbortSignal;
  what: string;
  loading?: string;
}

export function resolveModelHostScript(): string {
  const script = path.join(packageRoot(), 'dist', MODEL_HOST_BUNDLE);
  if (!existsSync(script)) throw new FailureError(`${script} is missing; build the package first (npm run build)`, { path: script });
  return script;
}

export class ModelHost {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly stderrTail: string[] = [];
  private ended: PajamasError | null = null;
  private closing: Promise<void> | null = null;
  private readonly exit: Promise<void>;
  private readonly untrack: () => void;
  device!: DeviceInfo;

  private constructor(
    private readonly child: ChildProcess,
    private readonly log: Logger | undefined,
  ) {
    // The host also exits when its IPC channel closes; this covers a parent that exits while it is stuck in native code.
    this.untrack = trackChildProcess(child, 'process');
    child.on('message', (message) => this.onMessage(message));
    createInterface({ input: child.stderr! }).on('line', (line) => this.onStderr(line));
    createInterface({ input: child.stdout! }).on('line', (line) => this.log?.(`[model host] ${line}`));
    this.exit = new Promise((resolve) => {
      child.on('error', (error) => this.onEnd(null, null, error));
      child.on('exit', (code, signal) => {
        this.onEnd(code, signal, null);
        resolve();
      });
    });
  }

  /** Starts a host and waits until node-llama-cpp is loaded and the device known. */
  static async start(opts: ModelHostOptions = {}): Promise<ModelHost> {
    if (opts.signal?.aborted) throw new CancelledError();
    const child = fork(opts.script ?? resolveModelHostScript(), [], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      execArgv: modelHostExecArgv(process.env),
      env: modelHostEnvironment(process.env),
      serialization: 'json',
    });
    const host = new ModelHost(child, opts.log);
    const onAbort = () => host.kill();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      host.device = await host.request({ type: 'init', gpu: opts.gpu ?? 'auto' }, { what: 'loading node-llama-cpp' });
      return host;
    } catch (error) {
      host.kill();
      throw opts.signal?.aborted ? new CancelledError() : error;
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Whether the host is still there to take requests. */
  get alive(): boolean {
    return this.ended === null && this.closing === null;
  }

  request<K extends HostRequestBody['type']>(body: Extract<HostRequestBody, { type: K }>, opts: RequestOptions): Promise<HostReplies[K]> {
    if (this.ended) return Promise.reject(this.ended);
    const id = this.nextId++;
    return new Promise<HostReplies[K]>((resolve, reject) => {
      const onAbort = () => this.send({ type: 'cancel', id });
      const done = <A extends unknown[]>(fn: (...args: A) => void) => {
        return (...args: A) => {
          opts.signal?.removeEventListener('abort', onAbort);
          fn(...args);
        };
      };
      this.pending.set(id, { resolve: done(resolve as (v: never) => void), reject: done(reject), ...opts });
      this.send({ ...body, id } as ParentMessage);
      if (opts.signal?.aborted) onAbort();
      else opts.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Asks the host to free the model and exit; kills it if it does not within a grace period. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (!this.ended) {
        const timer = setTimeout(() => this.kill(), CLOSE_GRACE_MS);
        await this.request({ type: 'close' }, { what: 'closing' }).catch(() => {});
        await this.exit;
        clearTimeout(timer);
      }
    })();
    return this.closing;
  }

  /** Ends the host at once (a cancelled start, a test simulating a crash). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }

  private send(message: ParentMessage): void {
    if (this.ended || !this.child.connected) return;
    this.child.send(message);
  }

  private onMessage(message: unknown): void {
    if (!isHostMessage(message)) return;
    if (message.type === 'log') return this.log?.(message.line);
    const pending = this.pending.get(message.id);
    if (!pending) return;
    if (message.type === 'text') return pending.onText?.(message.text);
    this.pending.delete(message.id);
    if (message.ok) pending.resolve(message.value as never);
    else pending.reject(deserializeError(message.error as SerializedError));
  }

  /** llama.cpp writes its last words (a failed GGML_ASSERT) here; they go into the error when the host dies. */
  private onStderr(line: string): void {
    this.stderrTail.push(line);
    if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
    if (process.env.PAJAMAS_DEBUG) this.log?.(`[model host] ${line}`);
  }

  private onEnd(code: number | null, signal: NodeJS.Signals | null, error: Error | null): void {
    this.untrack();
    if (this.ended) return;
    const orderly = this.closing !== null && code === 0;
    this.ended = orderly ? new FailureError('the model host was closed') : this.endError(code, signal, error, this.firstPending());
    for (const [id, pending] of this.pending) {
      this.pending.delete(id);
      pending.reject(orderly ? this.ended : this.endError(code, signal, error, pending));
    }
  }

  private firstPending(): Pending | undefined {
    return this.pending.values().next().value;
  }

  private endError(code: number | null, signal: NodeJS.Signals | null, error: Error | null, during: Pending | undefined): PajamasError {
    const what = during ? ` while ${during.what}` : '';
    const tail = this.stderrTail.length ? `\n${this.stderrTail.map((l) => `  | ${l}`).join('\n')}` : '';
    const data = { pid: this.child.pid, exitCode: code, signal, stderrTail: [...this.stderrTail] };
    if (error) return new FailureError(`the model host could not be started: ${error.message}`, data, { cause: error });
    if (signal && NATIVE_ABORTS.has(signal) && during?.loading) {
      return new FormatError(
        `llama.cpp ended the model process with ${signal} while loading this file: ` +
          `it is damaged, or uses something this llama.cpp build does not support${tail}`,
        { path: during.loading },
      );
    }
    const why =
      signal === 'SIGKILL' ? ' (killed from outside, or out of memory)' : signal && NATIVE_ABORTS.has(signal) ? ' (a native crash)' : '';
    const how = signal ? `was ended by ${signal}${why}` : `exited with code ${code}`;
    return new FailureError(`the model process ${how}${what}${tail}`, data);
  }
}
