/**
 * How much of the evaluation text the KL-divergence base may cover: the base file grows with
 * tokens x vocabulary (with a 150k-token vocabulary each scored token takes 300 KB, about 150 MB
 * per 1,000 tokens of text, since half of each chunk is scored), so the chunk count is capped by
 * free disk and by a size limit, and the caller says so when it bites. Pure arithmetic; the caller measures the disk.
 */
import { FailureError, type Remedy, UsageError } from '../errors';
import { formatBytes } from '../units';
import { KLD_BASE_HEADER_BYTES, kldBaseBytes, kldBaseBytesPerChunk } from './kld-base';

/** Largest base file made without being asked (override: EvaluateOptions.maxBaseBytes). */
export const DEFAULT_MAX_KLD_BASE_BYTES = 8 * 1024 ** 3;
/** Free space left untouched on the cache's file system, for everything else on the machine. */
export const KLD_DISK_RESERVE_BYTES = 2 * 1024 ** 3;
/** Share of the remaining free space one base file may take. */
export const KLD_DISK_SHARE = 0.5;

export interface BaseChunkInput {
  /** Tokens of the evaluation text as the model tokenizes it (BOS included). */
  tokenCount: number;
  ctx: number;
  nVocab: number;
  /** The caller's own limit on chunks (e.g. --chunks); undefined for all. */
  maxChunks?: number;
  /** Free bytes on the file system that will hold the base file. */
  freeBytes: number;
  maxBaseBytes?: number;
  /** For messages: where the base would go. */
  dir: string;
}

export interface BaseChunkPlan {
  /** Chunks the text holds (floor(tokens / ctx)). */
  availableChunks: number;
  /** Chunks wanted before the disk was considered. */
  wantedChunks: number;
  /** Chunks the base will cover. */
  chunks: number;
  bytes: number;
  /** Why fewer chunks than wanted, or null. */
  capReason: string | null;
}

/** Number of chunks the text gives at this context, or a UsageError when it is too short. */
export function availableChunks(tokenCount: number, ctx: number, textName: string): number {
  // llama-perplexity refuses texts under 2 x ctx tokens.
  if (tokenCount < 2 * ctx) {
    throw new UsageError(
      `the evaluation text ${textName} tokenizes to ${tokenCount} tokens; a context of ${ctx} needs at least ${2 * ctx}: ` +
        'use a longer text or a smaller context',
      { remedies: [{ option: 'evalText' }, { option: 'contextSize' }] satisfies Remedy[] },
    );
  }
  return Math.floor(tokenCount / ctx);
}

export function planBaseChunks(input: BaseChunkInput): BaseChunkPlan {
  const available = Math.floor(input.tokenCount / input.ctx);
  const wanted = Math.max(1, Math.min(available, input.maxChunks ?? available));
  const perChunk = kldBaseBytesPerChunk(input.ctx, input.nVocab);
  const limit = input.maxBaseBytes ?? DEFAULT_MAX_KLD_BASE_BYTES;
  const diskBudget = Math.max(0, (input.freeBytes - KLD_DISK_RESERVE_BYTES) * KLD_DISK_SHARE);
  const budget = Math.min(limit, diskBudget);
  const fitting = Math.floor((budget - KLD_BASE_HEADER_BYTES) / perChunk);
  const chunks = Math.min(wanted, fitting);
  if (chunks < 1) {
    throw new FailureError(
      `not enough disk for KL divergence: one chunk of ${input.ctx} tokens over a ${input.nVocab}-token vocabulary needs ` +
        `${formatBytes(perChunk)}, ` +
        `and ${formatBytes(input.freeBytes)} is free at ${input.dir} (${formatBytes(KLD_DISK_RESERVE_BYTES)} is kept free, at most ` +
        `${KLD_DISK_SHARE * 100}% of the rest is used, ` +
        `limit ${formatBytes(limit)}): free some space, point PAJAMAS_CACHE_DIR elsewhere, or use a smaller context`,
      { freeBytes: input.freeBytes, perChunkBytes: perChunk, remedies: [{ option: 'contextSize' }] satisfies Remedy[] },
    );
  }
  let capReason: string | null = null;
  if (chunks < wanted) {
    const by =
      diskBudget < limit ? `${formatBytes(input.freeBytes)} free at ${input.dir}` : `the ${formatBytes(limit)} limit on a base file`;
    capReason =
      `the KL-divergence base for all ${wanted} chunks would take ` +
      `${formatBytes(kldBaseBytes({ nCtx: input.ctx, nVocab: input.nVocab, nChunk: wanted }))}; ` +
      `with ${by}, only the first ${chunks} chunks (${chunks * input.ctx} tokens) are evaluated`;
  }
  return {
    availableChunks: available,
    wantedChunks: wanted,
    chunks,
    bytes: kldBaseBytes({ nCtx: input.ctx, nVocab: input.nVocab, nChunk: chunks }),
    capReason,
  };
}
