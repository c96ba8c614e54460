/**
 * KL divergence of a model against the baseline's cached log-probabilities:
 * `llama-perplexity -m q.gguf -c N --kl-divergence-base base --kl-divergence`. One pass gives the
 * model's perplexity on the same tokens, the mean and 99th-percentile KL divergence per token,
 * and top-1 agreement ("Same top p": how often both models' most likely next token is the same).
 */
import { ToolError } from '../errors';
import { type KldChunkRow, type KldStats, parseKldOutput } from './perplexity-output';
import { type ToolRunOptions, runPerplexityTool } from './perplexity';
import type { KldBaseHeader } from './kld-base';
import { scoredTokensPerChunk } from './kld-base';

/** llama-perplexity prints its closing statistics only when it scored at least this many tokens. */
export const KLD_MIN_TOKENS_FOR_STATS = 100;

export interface KldResult {
  /** The model's perplexity on the base's tokens ("Mean PPL(Q)"). */
  ppl: number;
  /** The baseline's perplexity from the 16-bit log-probabilities ("Mean PPL(base)"). */
  pplBase: number;
  /** PPL(Q)/PPL(base) as the tool computes it. */
  pplRatio: number;
  kldMean: number;
  /** 99th percentile of the per-token KL divergence; null when the tool printed no statistics. */
  kldP99: number | null;
  /** Top-1 agreement with the baseline, 0..1. */
  top1: number;
  stats: KldStats | null;
  rows: KldChunkRow[];
  attempts: number;
  durationMs: number;
}

export function kldArgs(model: string, baseFile: string, ctx: number): string[] {
  return ['-m', model, '-c', String(ctx), '--kl-divergence-base', baseFile, '--kl-divergence'];
}

/**
 * Result from a parsed output: the closing statistics when printed; otherwise the last chunk row
 * (running means over every chunk, without percentiles) when the tool never prints statistics for
 * so few tokens, or when the statistics were lost on every attempt.
 */
export function kldResultFromOutput(
  text: string,
  base: KldBaseHeader,
  acceptRows: boolean,
): { result: Omit<KldResult, 'attempts' | 'durationMs'> | null; errors: string[] } {
  const out = parseKldOutput(text);
  if (out.stats) {
    const s = out.stats;
    return {
      result: {
        ppl: s.pplQ,
        pplBase: s.pplBase,
        pplRatio: s.pplRatio,
        kldMean: s.kldMean,
        kldP99: s.kldP99,
        top1: s.sameTop,
        stats: s,
        rows: out.rows,
      },
      errors: out.errors,
    };
  }
  const last = out.rows[out.rows.length - 1];
  const fewTokens = base.nChunk * scoredTokensPerChunk(base.nCtx) < KLD_MIN_TOKENS_FOR_STATS;
  if (last && last.chunk === base.nChunk && (acceptRows || fewTokens)) {
    const pplBase = last.ppl / Math.exp(last.lnPplRatio);
    return {
      result: {
        ppl: last.ppl,
        pplBase,
        pplRatio: Math.exp(last.lnPplRatio),
        kldMean: last.kldMean,
        kldP99: null,
        top1: last.sameTop,
        stats: null,
        rows: out.rows,
      },
      errors: out.errors,
    };
  }
  return { result: null, errors: out.errors };
}

export async function runKlDivergence(
  model: string,
  baseFile: string,
  base: KldBaseHeader,
  opts: ToolRunOptions & { progressStep?: string } = {},
): Promise<KldResult> {
  let partial = false;
  const run = await runPerplexityTool(
    kldArgs(model, baseFile, base.nCtx),
    (text, lastAttempt) => {
      const r = kldResultFromOutput(text, base, lastAttempt);
      partial = r.result !== null && r.result.stats === null;
      return r;
    },
    `computing the KL divergence of ${model}`,
    { ...opts, totalChunks: base.nChunk },
  );
  if (partial && base.nChunk * scoredTokensPerChunk(base.nCtx) >= KLD_MIN_TOKENS_FOR_STATS) {
    opts.log?.(
      `llama-perplexity's closing statistics were lost on every attempt; ${model}: mean KLD and top-1 come from its last chunk row, ` +
        `p99 KLD is unknown`,
    );
  }
  const r = run.result;
  if (![r.ppl, r.kldMean, r.top1].every(Number.isFinite) || r.ppl <= 0) {
    throw new ToolError(
      'llama-perplexity',
      0,
      [`PPL ${r.ppl}, mean KLD ${r.kldMean}, top-1 ${r.top1}`],
      `the KL-divergence pass of ${model} gave non-finite results: the model's outputs are not finite (a broken quantization?)`,
    );
  }
  return { ...r, attempts: run.attempts, durationMs: run.durationMs };
}
