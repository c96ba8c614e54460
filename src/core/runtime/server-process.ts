/**
 * A long-lived local inference server (mlx_lm.server; llama-server in tests) on a free loopback
 * port: started in its own process group, ready once its /health answers 200, and stopped (the
 * whole group, SIGTERM then SIGKILL) on close, on abort, and when this process exits.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { CancelledError, ToolError } from '../errors';
import { killGroup, trackChildProcess } from '../llamacpp/process';

export const LOOPBACK_HOST = '127.0.0.1';
/** Loading a multi-gigabyte model can take a while on a cold disk. */
export const SERVER_READY_TIMEOUT_MS = 180_000;
export const HEALTH_POLL_MS = 200;
const HEALTH_REQUEST_TIMEOUT_MS = 2_000;
const STOP_GRACE_MS = 3_000;
const TAIL_LINES = 20;

/** A port that was free a moment ago (the OS picks it; the server binds it right after). */
export function freeLoopbackPort(host = LOOPBACK_HOST): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, host, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => (port ? resolve(port) : reject(new Error('no free loopback port'))));
    });
  });
}

export interface ServerProcessOptions {
  /** For messages, e.g. "mlx_lm.server". */
  name: string;
  command: string;
  /** Arguments given the chosen host and port. */
  args: (host: string, port: number) => string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  healthPath?: string;
  readyTimeoutMs?: number;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

export interface ServerProcess {
  readonly name: string;
  readonly baseUrl: string;
  readonly port: number;
  readonly pid: number;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** Last lines the server printed (stdout and stderr together). */
  outputTail(): string[];
  stop(): Promise<void>;
}

export async function startServerProcess(opts: ServerProcessOptions): Promise<ServerProcess> {
  if (opts.signal?.aborted) throw new CancelledError();
  const port = await freeLoopbackPort();
  const baseUrl = `http://${LOOPBACK_HOST}:${port}`;
  const args = opts.args(LOOPBACK_HOST, port);
  opts.log?.(`starting ${opts.name}: ${opts.command} ${args.join(' ')}`);
  const child = spawn(opts.command, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: process.platform !== 'win32',
  });
  const untrack = trackChildProcess(child, 'group');
  const tail: string[] = [];
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split(/\r?\n/)) {
      if (!line.trim()) continue;
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
    }
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<number | null>((resolve) => {
    child.on('error', (error) => {
      tail.push(`cannot start ${opts.command}: ${error.message}`);
      untrack();
      resolve(null);
    });
    child.on('exit', (code) => {
      untrack();
      resolve(code);
    });
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return exited.then(() => undefined);
    stopped = true;
    killGroup(child, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  };
  const server: ServerProcess = { name: opts.name, baseUrl, port, pid: child.pid ?? -1, exited, outputTail: () => [...tail], stop };
  try {
    await waitUntilHealthy(server, opts);
  } catch (error) {
    await stop();
    throw error;
  }
  return server;
}

async function waitUntilHealthy(server: ServerProcess, opts: ServerProcessOptions): Promise<void> {
  const deadline = Date.now() + (opts.readyTimeoutMs ?? SERVER_READY_TIMEOUT_MS);
  const url = `${server.baseUrl}${opts.healthPath ?? '/health'}`;
  let exitCode: number | null | undefined;
  void server.exited.then((code) => (exitCode = code));
  for (;;) {
    if (opts.signal?.aborted) throw new CancelledError();
    if (exitCode !== undefined) {
      throw new ToolError(opts.name, exitCode, server.outputTail(), `${opts.name} exited before it was ready`);
    }
    if (await isHealthy(url)) return;
    if (Date.now() > deadline) {
      const ms = opts.readyTimeoutMs ?? SERVER_READY_TIMEOUT_MS;
      const seconds = (ms / 1000).toFixed(ms < 10_000 ? 1 : 0);
      throw new ToolError(opts.name, null, server.outputTail(), `${opts.name} did not answer ${url} within ${seconds} s`);
    }
    await new Promise((r) => setTimeout(r, HEALTH_POLL_MS));
  }
}

async function isHealthy(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(HEALTH_REQUEST_TIMEOUT_MS) });
    await response.arrayBuffer().catch(() => undefined);
    return response.ok;
  } catch {
    return false; // not listening yet
  }
}
