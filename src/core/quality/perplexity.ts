/**
 * Perplexity with llama-perplexity: `-f text -c N [--chunks K]`, the final estimate and the
 * per-chunk values parsed from its output. llama-perplexity scores the second half of each chunk
 * of N tokens; it needs at least 2N tokens of text.
 *
 * The runner below is shared with the KL-divergence passes: it repeats a run whose output was cut
 * short by the tool's logger (see perplexity-output.ts), and turns the tool's own error lines into
 * a ToolError even though the tool exits 0 after them.
 */
import { ToolError } from '../errors';
import type { JobOptions } from '../job';
import { runLlamaTool, type LlamaTools } from '../llamacpp';
import { parsePerplexityOutput } from './perplexity-output';

const TOOL = 'llama-perplexity';

/** Runs of a tool whose output ended before its result, before giving up. */
export const MAX_TOOL_ATTEMPTS = 3;
/** Lines of output quoted when the tool never printed a result. */
const QUOTED_LINES = 12;

export interface ToolRunOptions extends JobOptions {
  /** The llama.cpp tools (default: found or built by ensureLlamaTools). */
  tools?: LlamaTools;
  threads?: number;
}

export interface ParsedAttempt<T> {
  result: T | null;
  errors: string[];
}

export interface PerplexityRun<T> {
  result: T;
  attempts: number;
  durationMs: number;
}

/**
 * Runs llama-perplexity with `args` until `parse` finds a result. `parse` gets both output streams
 * joined and whether this is the last attempt (where it may accept a partial result).
 * `progressStep` names the onProgress step; chunk progress is read from the live output.
 */
export async function runPerplexityTool<T>(
  args: readonly string[],
  parse: (text: string, lastAttempt: boolean) => ParsedAttempt<T>,
  what: string,
  opts: ToolRunOptions & { progressStep?: string; totalChunks?: number } = {},
): Promise<PerplexityRun<T>> {
  let durationMs = 0;
  let lastText = '';
  for (let attempt = 1; attempt <= MAX_TOOL_ATTEMPTS; attempt++) {
    const counter = new ChunkCounter();
    const run = await runLlamaTool(TOOL, args, {
      tools: opts.tools,
      threads: opts.threads,
      signal: opts.signal,
      log: opts.log,
      onData: (stream, text) => {
        if (stream !== 'stdout' || !opts.progressStep) return;
        const done = counter.push(text);
        if (done !== null) opts.onProgress?.({ step: opts.progressStep, done, total: opts.totalChunks, unit: 'chunks' });
      },
    });
    durationMs += run.durationMs;
    lastText = `${run.stdout}\n${run.stderr}`;
    const parsed = parse(lastText, attempt === MAX_TOOL_ATTEMPTS);
    if (parsed.result !== null) return { result: parsed.result, attempts: attempt, durationMs };
    if (parsed.errors.length) {
      throw new ToolError(TOOL, 0, parsed.errors, `${TOOL} failed while ${what} (it exited 0 but printed no result)`);
    }
    if (attempt < MAX_TOOL_ATTEMPTS) {
      opts.log?.(
        `${TOOL}'s output ended before its result (its logger drops the last lines at exit); running it again (attempt ${attempt + 1} ` +
          `of ${MAX_TOOL_ATTEMPTS})`,
      );
    }
  }
  const tail = lastText
    .split('\n')
    .filter((l) => l.trim())
    .slice(-QUOTED_LINES);
  throw new ToolError(TOOL, 0, tail, `${TOOL} printed no result while ${what}, ${MAX_TOOL_ATTEMPTS} times in a row`);
}

/** Counts finished chunks in streamed stdout: "[k]value," (perplexity) or a table row "   k   ..." (KLD). */
class ChunkCounter {
  private buffer = '';
  private done = 0;

  push(text: string): number | null {
    this.buffer = (this.buffer + text).slice(-4096);
    let latest = this.done;
    for (const m of this.buffer.matchAll(/\[(\d+)\][^,\s]*,/g)) latest = Math.max(latest, Number(m[1]));
    for (const m of this.buffer.matchAll(/^\s*(\d+)\s+\S+\s+±/gm)) latest = Math.max(latest, Number(m[1]));
    if (latest === this.done) return null;
    this.done = latest;
    return latest;
  }
}

export interface PerplexityOptions extends ToolRunOptions {
  /** Context size (tokens per chunk). */
  ctx: number;
  /** Evaluate only the first K chunks. */
  chunks?: number;
  /** Extra arguments (e.g. --kl-divergence-base <file>). */
  extraArgs?: readonly string[];
  totalChunks?: number;
  progressStep?: string;
}

export interface PerplexityResult {
  ppl: number;
  pplError: number;
  /** Running perplexity after each chunk. */
  chunks: number[];
  attempts: number;
  durationMs: number;
}

export function perplexityArgs(model: string, textFile: string, ctx: number, chunks?: number): string[] {
  const args = ['-m', model, '-f', textFile, '-c', String(ctx)];
  if (chunks !== undefined) args.push('--chunks', String(chunks));
  return args;
}

/** Perplexity of `model` on `textFile`. */
export async function runPerplexity(model: string, textFile: string, opts: PerplexityOptions): Promise<PerplexityResult> {
  const args = [...perplexityArgs(model, textFile, opts.ctx, opts.chunks), ...(opts.extraArgs ?? [])];
  const run = await runPerplexityTool(
    args,
    (text) => {
      const out = parsePerplexityOutput(text);
      if (out.ppl === null) return { result: null, errors: out.errors };
      return { result: out, errors: out.errors };
    },
    `computing the perplexity of ${model}`,
    opts,
  );
  const { ppl, pplError, chunks } = run.result;
  if (!Number.isFinite(ppl!) || ppl! <= 0) {
    throw new ToolError(
      TOOL,
      0,
      [`Final estimate: PPL = ${ppl}`],
      `${TOOL} computed a perplexity of ${ppl} for ${model}: the model's outputs are not finite (a broken quantization?)`,
    );
  }
  return { ppl: ppl!, pplError: pplError ?? Number.NaN, chunks, attempts: run.attempts, durationMs: run.durationMs };
}
