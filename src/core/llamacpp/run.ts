/**
 * Runs one llama.cpp tool for a job: finds (or builds) the tools, adds a thread count where the
 * tool would otherwise use fewer than every core, streams its output, and maps failure, abort
 * and timeout to ToolError / CancelledError.
 */
import os from 'node:os';
import type { JobOptions } from '../job';
import { type LlamaToolsOptions, ensureLlamaTools } from './locate';
import { type ProcessOptions, runProcess } from './process';
import type { LlamaToolName, LlamaTools } from './tools';

/**
 * Tools whose thread count defaults to llama.cpp's "math cores" guess (often fewer than all
 * cores); they take `-t N`. llama-quantize already uses every hardware thread by default, and
 * llama-tokenize / llama-simple do no parallel work worth a flag (llama-simple has none).
 */
const THREADED_TOOLS: ReadonlySet<LlamaToolName> = new Set(['llama-imatrix', 'llama-perplexity', 'llama-bench', 'llama-server']);

export interface RunLlamaToolOptions extends JobOptions, Omit<ProcessOptions, 'signal'> {
  /** The tools to use; default ensureLlamaTools(toolsOptions), which may build them. */
  tools?: LlamaTools;
  toolsOptions?: Omit<LlamaToolsOptions, keyof JobOptions>;
  /** Thread count for tools that take -t; default every core. Ignored when args already set -t. */
  threads?: number;
}

export interface LlamaToolResult {
  tool: LlamaToolName;
  path: string;
  args: string[];
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** PAJAMAS_THREADS when set to a positive integer (the extension's threads setting), else every core. */
export function defaultThreads(env: Record<string, string | undefined> = process.env): number {
  const fromEnv = Number(env.PAJAMAS_THREADS);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : os.availableParallelism();
}

/** `args` plus `-t N` when the tool takes it and the caller did not set it. */
export function withThreads(tool: LlamaToolName, args: readonly string[], threads: number = defaultThreads()): string[] {
  if (!THREADED_TOOLS.has(tool) || args.some((a) => a === '-t' || a === '--threads' || a.startsWith('--threads='))) return [...args];
  return ['-t', String(threads), ...args];
}

export async function runLlamaTool(tool: LlamaToolName, args: readonly string[], opts: RunLlamaToolOptions = {}): Promise<LlamaToolResult> {
  const tools =
    opts.tools ?? (await ensureLlamaTools({ ...opts.toolsOptions, signal: opts.signal, onProgress: opts.onProgress, log: opts.log }));
  const file = tools.tools[tool];
  const fullArgs = withThreads(tool, args, opts.threads);
  opts.log?.(`running ${tool} ${fullArgs.join(' ')}`);
  const outcome = await runProcess(tool, file, fullArgs, {
    signal: opts.signal,
    cwd: opts.cwd,
    env: opts.env,
    onStdoutLine: opts.onStdoutLine,
    onStderrLine: opts.onStderrLine,
    onData: opts.onData,
    timeoutMs: opts.timeoutMs,
    tailFrom: opts.tailFrom,
  });
  return { tool, path: file, args: fullArgs, stdout: outcome.stdout, stderr: outcome.stderr, durationMs: outcome.durationMs };
}
