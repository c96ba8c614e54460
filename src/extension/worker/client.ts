/**
 * The extension's side of the worker: starts dist/server.js with vscode-languageclient over node
 * IPC, restarts it after a crash (a request that was running then fails with a message saying so),
 * turns the worker's error responses back into PajamasErrors of the same code, and hands out the
 * worker's job progress and log lines. Every request goes through `request()`.
 */
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import * as vscode from 'vscode';
import { ErrorCodes, type RequestParam, type RequestType, ResponseError } from 'vscode-jsonrpc';
import type { LanguageClient, LanguageClientOptions, MessageTransports, ServerOptions } from 'vscode-languageclient/node';
import { CancelledError, FailureError, PajamasError } from '../../core/errors';
import { ChatTextNotification, type ChatTextParams } from '../../protocol/chat';
import { isWorkerErrorData, type WorkerErrorData } from '../../protocol/errors';
import {
  CancelJobNotification,
  JobProgressNotification,
  type JobProgressParams,
  LogNotification,
  type WorkerInitOptions,
} from '../../protocol/worker';
import type { PajamasOutput } from '../output';

export const WORKER_NAME = 'Llama-Pajamas Worker';
/** More crashes than this within CRASH_WINDOW_MS and the worker is left stopped (a crash loop). */
export const MAX_CRASHES = 4;
export const CRASH_WINDOW_MS = 3 * 60_000;
/** LSP's RequestCancelled error code (LSPErrorCodes.RequestCancelled). */
const LSP_REQUEST_CANCELLED = -32800;

/** vscode-languageclient is loaded when the worker first starts, not at activation (it is most of the bundle). */
type ClientModule = typeof import('vscode-languageclient/node');
let clientModule: ClientModule | undefined;

export interface WorkerOptions {
  serverModule: string;
  output: PajamasOutput;
  /** The worker's extra environment (tools folder, threads, token); read at each (re)start. */
  environment: () => Promise<Record<string, string>>;
}

export class WorkerClient implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private starting: Promise<LanguageClient> | undefined;
  private readonly progressEmitter = new vscode.EventEmitter<JobProgressParams>();
  private readonly chatTextEmitter = new vscode.EventEmitter<ChatTextParams>();
  private readonly restartEmitter = new vscode.EventEmitter<void>();
  /** Fires for every progress notification of every job. */
  readonly onJobProgress = this.progressEmitter.event;
  /** Fires for every piece of a chat reply's text. */
  readonly onChatText = this.chatTextEmitter.event;
  /** Fires when the worker stopped unexpectedly and was restarted. */
  readonly onDidRestart = this.restartEmitter.event;
  private readonly crashes: number[] = [];
  private jobCounter = 0;
  private readonly traceChannel = vscode.window.createOutputChannel(WORKER_NAME, { log: true });

  constructor(private readonly options: WorkerOptions) {}

  /** Starts the worker unless it runs; resolves when it has answered `initialize`. */
  start(): Promise<LanguageClient> {
    this.starting ??= this.create().catch((error: unknown) => {
      this.starting = undefined;
      throw error;
    });
    return this.starting;
  }

  /** A job id unique in this session. */
  newJobId(kind: string): string {
    return `${kind}-${Date.now().toString(36)}-${++this.jobCounter}`;
  }

  /** Sends a request; failures come back as PajamasErrors (`what` names the request in messages). */
  async request<P, R>(type: RequestType<P, R, WorkerErrorData>, params: P, what: string, token?: vscode.CancellationToken): Promise<R> {
    const client = await this.start();
    try {
      // RequestParam<P> is P for every non-null P, which TypeScript cannot see through a generic P.
      return await client.sendRequest(type, params as RequestParam<P>, token);
    } catch (error) {
      throw fromWorkerError(error, what);
    }
  }

  cancelJob(jobId: string): void {
    void this.client?.sendNotification(CancelJobNotification, { jobId }).catch(() => undefined);
  }

  /** The worker's process id while it runs (tests kill it to check crash handling). */
  get pid(): number | undefined {
    return this.client?.state === clientModule?.State.Running ? this.client?.serverProcess?.pid : undefined;
  }

  /** Stops the worker (cancelling its jobs) and starts a fresh one, e.g. after a settings change. */
  async restart(): Promise<void> {
    const old = this.client;
    this.client = undefined;
    this.starting = undefined;
    if (old) await old.dispose().catch(() => undefined);
    await this.start();
  }

  dispose(): void {
    void this.client?.dispose().catch(() => undefined);
    this.client = undefined;
    this.progressEmitter.dispose();
    this.chatTextEmitter.dispose();
    this.restartEmitter.dispose();
    this.traceChannel.dispose();
  }

  private async create(): Promise<LanguageClient> {
    const lc = (clientModule ??= await import('vscode-languageclient/node'));
    const { CloseAction, ErrorAction, LanguageClient, RevealOutputChannelOn, TransportKind } = lc;
    const env = { ...process.env, ...(await this.options.environment()) };
    const serverOptions: ServerOptions = {
      run: { module: this.options.serverModule, transport: TransportKind.ipc, options: { env } },
      debug: { module: this.options.serverModule, transport: TransportKind.ipc, options: { env, execArgv: ['--nolazy'] } },
    };
    const initializationOptions: WorkerInitOptions = { verbose: false };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [
        { scheme: 'file', language: 'json', pattern: '**/config.json' },
        { scheme: 'file', language: 'json', pattern: '**/manifest.json' },
      ],
      synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher('**/*.{gguf,safetensors,json}') },
      outputChannel: this.traceChannel,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationOptions,
      errorHandler: {
        error: (_error, _message, count) => ({ action: count !== undefined && count <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown }),
        closed: () =>
          this.onClosed() ? { action: CloseAction.Restart, handled: true } : { action: CloseAction.DoNotRestart, handled: true },
      },
    };
    const client = new (yieldingAfterSpawn(LanguageClient))('pajamas-worker', WORKER_NAME, serverOptions, clientOptions);
    client.onNotification(JobProgressNotification, (p) => this.progressEmitter.fire(p));
    client.onNotification(ChatTextNotification, (p) => this.chatTextEmitter.fire(p));
    client.onNotification(LogNotification, ({ line, level }) =>
      level === 'error' ? this.options.output.error(line) : this.options.output.log(line),
    );
    this.client = client;
    await client.start();
    this.options.output.log(`worker started (pid ${client.serverProcess?.pid ?? '?'})`);
    return client;
  }

  /** The worker's connection closed unexpectedly: true to restart it. */
  private onClosed(): boolean {
    const now = Date.now();
    this.crashes.push(now);
    while (this.crashes.length && now - this.crashes[0]! > CRASH_WINDOW_MS) this.crashes.shift();
    if (this.crashes.length > MAX_CRASHES) {
      this.options.output.error(
        `the worker stopped ${this.crashes.length} times within 3 minutes; it stays stopped until you run "Pajamas: Restart Worker"`,
      );
      this.starting = undefined;
      this.client = undefined;
      return false;
    }
    this.options.output.error('the worker stopped unexpectedly; restarting it (see the "Llama-Pajamas Worker" log for its last words)');
    this.restartEmitter.fire();
    return true;
  }
}

/**
 * The client's start forks the worker (a fork of the whole extension host), wires its pipes, makes
 * the connection and sends the initialize request in one chain of promise callbacks: one ~50 ms
 * stretch of the host's main thread at load 5 (more on a loaded machine) in which no timer or
 * message of the host runs. Yielding to the event loop once the worker is forked cuts it in two.
 * The connection listens to the process only after the yield, so an error or exit during it is
 * caught here and fails the start (rather than going unheard and leaving the start waiting).
 */
function yieldingAfterSpawn(Base: ClientModule['LanguageClient']): ClientModule['LanguageClient'] {
  return class extends Base {
    protected override async createMessageTransports(encoding: string): Promise<MessageTransports> {
      const transports = await super.createMessageTransports(encoding);
      const child = this.serverProcess;
      let failure: Error | undefined;
      const onError = (error: Error) => (failure ??= error);
      const onExit = (code: number | null, signal: string | null) =>
        (failure ??= new Error(`the worker exited as it started (exit code ${code}, signal ${signal})`));
      child?.once('error', onError).once('exit', onExit);
      await nextMacrotask();
      child?.off('error', onError).off('exit', onExit);
      if (failure) throw failure;
      return transports;
    }
  };
}

/** Turns what a request threw into a PajamasError whose message a user can act on. */
export function fromWorkerError(error: unknown, what: string): PajamasError {
  if (error instanceof PajamasError) return error;
  if (error instanceof ResponseError) {
    const data: unknown = error.data;
    if (isWorkerErrorData(data)) {
      const e = new PajamasError(data.code, error.message, data.details);
      // The client-side stack says nothing; the worker's (sent for unexpected failures) does.
      e.stack = data.stack ?? `${e.name}: ${e.message} (in the worker)`;
      return e;
    }
    if (error.code === ErrorCodes.PendingResponseRejected) {
      return new FailureError(
        `the worker stopped while ${what} was running, so it did not finish; the worker has restarted. ` +
          'Nothing half-written was kept (temporary files are removed by the next run); run it again.',
        { reason: 'worker-crashed' },
      );
    }
    if (error.code === ErrorCodes.ConnectionInactive) {
      return new FailureError(`the worker is not running, so ${what} could not start; run "Pajamas: Restart Worker"`, {
        reason: 'worker-stopped',
      });
    }
    if (error.code === LSP_REQUEST_CANCELLED) return new CancelledError();
  }
  if (error instanceof vscode.CancellationError) return new CancelledError();
  const message = error instanceof Error ? error.message : String(error);
  return new FailureError(`${what} failed in the worker: ${message}`, {}, { cause: error });
}
