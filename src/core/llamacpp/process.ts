/**
 * Runs an external program the way long jobs need it: output streamed line by line and collected,
 * the whole process group killed on abort or timeout (llama.cpp tools and build tools start
 * children of their own), and failures turned into a ToolError with the last lines it printed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { CancelledError, ToolError } from '../errors';

/** Lines of output kept for error messages. */
export const OUTPUT_TAIL_LINES = 20;
/** Output collected per stream; beyond it only the streaming callbacks and the tail see it. */
export const COLLECT_LIMIT_CHARS = 64 * 1024 * 1024;
/** Time between SIGTERM and SIGKILL when stopping a process group. */
export const KILL_GRACE_MS = 3000;
/** After the process exits, how long to wait for its output pipes to close (grandchildren may hold them). */
const PIPE_CLOSE_GRACE_MS = 1000;

export interface ProcessOptions {
  signal?: AbortSignal;
  cwd?: string;
  /** Added to (and overriding) the parent's environment; undefined removes a variable. */
  env?: Record<string, string | undefined>;
  onStdoutLine?: (line: string) => void;
  onStderrLine?: (line: string) => void;
  /** Raw text as it arrives, for output that is not line-based (llama-perplexity's "[1]5.2,[2]..."). */
  onData?: (stream: 'stdout' | 'stderr', text: string) => void;
  /** Kills the process group after this long; the outcome then says timedOut. */
  timeoutMs?: number;
  /**
   * Which lines a ToolError quotes: stderr (llama.cpp tools log there; stdout carries data), or
   * both streams interleaved (ninja reports compiler errors on stdout). Default stderr.
   */
  tailFrom?: 'stderr' | 'combined';
}

export interface ProcessOutcome {
  /** null when the process was killed by a signal or could not start. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Last non-empty lines of stderr (or of stdout when stderr had none), or of both with tailFrom 'combined'. */
  outputTail: string[];
  truncated: boolean;
  timedOut: boolean;
  /** Set when the program could not be started (ENOENT, EACCES...). */
  spawnError: Error | null;
  durationMs: number;
}

/**
 * Children core started that are still running, whatever job started them: llama.cpp tools
 * (spawnCollect), local servers and model hosts. 'group': the child leads its own process group
 * (tools and servers, so that a group kill reaches their children too, which also means a
 * terminal's Ctrl-C no longer reaches them); 'process': the child alone.
 */
const liveChildren = new Map<ChildProcess, 'group' | 'process'>();

/** Registers a running child for killRunningChildren; call the returned function once it is gone. */
export function trackChildProcess(child: ChildProcess, scope: 'group' | 'process'): () => void {
  liveChildren.set(child, scope);
  return () => liveChildren.delete(child);
}

/**
 * Kills (SIGKILL) every child core started that is still running. Core installs no exit hook (a
 * library must not decide what happens when its host exits): the host process calls this when it
 * goes, the CLI and the worker from their 'exit' listeners. Synchronous, as an 'exit' listener must be.
 */
export function killRunningChildren(): void {
  for (const [child, scope] of liveChildren) {
    if (scope === 'group') killGroup(child, 'SIGKILL');
    else child.kill('SIGKILL');
  }
}

export function killGroup(child: ChildProcess, sig: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    if (process.platform === 'win32') child.kill(sig);
    else process.kill(-child.pid, sig);
  } catch {
    // already gone
  }
}

function pushTail(tail: string[], line: string): void {
  if (!line.trim()) return;
  tail.push(line);
  if (tail.length > OUTPUT_TAIL_LINES) tail.shift();
}

class LineCollector {
  text = '';
  truncated = false;
  readonly tail: string[] = [];
  private partial = '';

  constructor(
    private readonly onLine: ((line: string) => void) | undefined,
    private readonly shared: string[],
  ) {}

  push(chunk: string): void {
    if (this.text.length + chunk.length <= COLLECT_LIMIT_CHARS) this.text += chunk;
    else this.truncated = true;
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop()!;
    for (const part of parts) this.line(part.replace(/\r$/, ''));
  }

  end(): void {
    if (this.partial) this.line(this.partial.replace(/\r$/, ''));
    this.partial = '';
  }

  private line(line: string): void {
    pushTail(this.tail, line);
    pushTail(this.shared, line);
    this.onLine?.(line);
  }
}

/** Stops a child's process group: SIGTERM now, SIGKILL if it is still there after a grace period. */
class GroupStopper {
  private killTimer: NodeJS.Timeout | undefined;
  private closeTimer: NodeJS.Timeout | undefined;

  constructor(private readonly child: ChildProcess) {}

  stop(): void {
    killGroup(this.child, 'SIGTERM');
    this.killTimer ??= setTimeout(() => killGroup(this.child, 'SIGKILL'), KILL_GRACE_MS);
  }

  /** After the leader exits: a grandchild outside the group could keep the pipes open forever. */
  exited(): void {
    this.closeTimer = setTimeout(() => (this.child.stdout?.destroy(), this.child.stderr?.destroy()), PIPE_CLOSE_GRACE_MS);
  }

  /** After close: take down what is left of the group (children of the tool that outlived it). */
  closed(): void {
    killGroup(this.child, 'SIGKILL');
    clearTimeout(this.killTimer);
    clearTimeout(this.closeTimer);
  }
}

/** Spawns `file args`, streams and collects output; resolves with the outcome whatever the exit code. */
export function spawnCollect(file: string, args: readonly string[], opts: ProcessOptions = {}): Promise<ProcessOutcome> {
  if (opts.signal?.aborted) return Promise.reject(new CancelledError());
  const started = Date.now();
  const combined: string[] = [];
  const stdout = new LineCollector(opts.onStdoutLine, combined);
  const stderr = new LineCollector(opts.onStderrLine, combined);
  const env = opts.env ? mergeEnv(process.env, opts.env) : process.env;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: opts.cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: process.platform !== 'win32' });
    const stopper = new GroupStopper(child);
    let spawnError: Error | null = null;
    let aborted = false;
    let timedOut = false;
    const untrack = trackChildProcess(child, 'group');
    const onAbort = () => ((aborted = true), stopper.stop());
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const timeout = opts.timeoutMs === undefined ? undefined : setTimeout(() => ((timedOut = true), stopper.stop()), opts.timeoutMs);

    child.stdout!.setEncoding('utf8').on('data', (text: string) => (stdout.push(text), opts.onData?.('stdout', text)));
    child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr.push(text), opts.onData?.('stderr', text)));
    child.on('error', (error) => (spawnError = error));
    child.on('exit', () => stopper.exited());
    child.on('close', (code, sig) => {
      stopper.closed();
      untrack();
      clearTimeout(timeout);
      opts.signal?.removeEventListener('abort', onAbort);
      stdout.end();
      stderr.end();
      if (aborted) return reject(new CancelledError());
      resolve({
        // On a failed start Node reports the negative errno as the code; there was no exit.
        exitCode: spawnError ? null : code,
        signal: sig,
        stdout: stdout.text,
        stderr: stderr.text,
        outputTail: opts.tailFrom === 'combined' ? combined : stderr.tail.length ? [...stderr.tail] : [...stdout.tail],
        truncated: stdout.truncated || stderr.truncated,
        timedOut,
        spawnError,
        durationMs: Date.now() - started,
      });
    });
  });
}

/** Like spawnCollect, but anything other than exit code 0 is a ToolError naming `name`. */
export async function runProcess(name: string, file: string, args: readonly string[], opts: ProcessOptions = {}): Promise<ProcessOutcome> {
  const outcome = await spawnCollect(file, args, opts);
  if (outcome.exitCode === 0 && !outcome.timedOut) return outcome;
  throw toolErrorFor(name, file, args, outcome);
}

/** A ToolError that says what ran, how it ended, and (via ToolError) its last output lines. */
export function toolErrorFor(name: string, file: string, args: readonly string[], outcome: ProcessOutcome): ToolError {
  const command = formatCommand(file, args);
  let status: string;
  if (outcome.spawnError) status = `could not be started (${outcome.spawnError.message})`;
  else if (outcome.timedOut) status = `did not finish within ${Math.round(outcome.durationMs / 1000)} s and was stopped`;
  else if (outcome.exitCode === null) status = `was killed by ${outcome.signal ?? 'a signal'}`;
  else status = `exited with code ${outcome.exitCode}`;
  return new ToolError(name, outcome.exitCode, outcome.outputTail, `${name} ${status}: ${command}`);
}

const COMMAND_DISPLAY_LIMIT = 400;

export function formatCommand(file: string, args: readonly string[]): string {
  const quoted = [file, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
  return quoted.length > COMMAND_DISPLAY_LIMIT ? `${quoted.slice(0, COMMAND_DISPLAY_LIMIT)}...` : quoted;
}

function mergeEnv(base: NodeJS.ProcessEnv, extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env = { ...base };
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}
