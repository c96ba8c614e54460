/**
 * The baseline side of an evaluation: its log-probabilities over the evaluation text (cached, see
 * kld-cache.ts) and its perplexity. Order of work, cheapest first: tokenize the text (vocabulary
 * only), look the base up in the cache, and only when it is missing measure the disk, cap the
 * chunk count, rebuild a deleted F16 intermediate from the source, and run the baseline pass.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { convertToGguf } from '../convert';
import { FailureError, type Remedy, UsageError, throwIfCancelled } from '../errors';
import { readGgufHeader } from '../formats/gguf';
import { sha256File } from '../fs/hash';
import type { LlamaTools } from '../llamacpp';
import { type JobOptions, noLog } from '../job';
import { formatBytes } from '../units';
import { type KldBaseEntry, type KldBaseRequest, baselineIdentity, computeKldBase, findKldBase } from './kld-cache';
import { availableChunks, planBaseChunks } from './kld-cap';
import type { EvalText } from './text';
import type { BaselineSpec } from './targets';
import { ggufVocabSize } from './targets';
import { countTokens } from './tokens';

/** Free space a rebuilt F16 intermediate leaves on its file system. */
export const REBUILD_DISK_RESERVE_BYTES = 1024 ** 3;

export type StatFs = (dir: string) => Promise<{ bavail: number | bigint; bsize: number | bigint }>;

export const nodeStatFs: StatFs = (dir) => fsp.statfs(dir);

export interface BaselineContext {
  text: EvalText;
  ctx: number;
  maxChunks?: number;
  cacheDir: string;
  maxBaseBytes?: number;
  statfs: StatFs;
  tools: LlamaTools;
  threads?: number;
  /** A GGUF with the same vocabulary (an artifact), to tokenize with while the baseline file is absent. */
  referenceGguf: string | null;
}

export interface PreparedBaseline {
  spec: BaselineSpec;
  entry: KldBaseEntry;
  ppl: number;
  nVocab: number;
  tokenCount: number;
  availableChunks: number;
  /** Chunks the base covers. */
  chunks: number;
  capReason: string | null;
  /** The F16 intermediate was rebuilt by this run (the caller deletes it again afterwards). */
  rebuilt: boolean;
}

export async function freeBytes(statfs: StatFs, dir: string): Promise<number> {
  const s = await statfs(dir);
  return Number(s.bavail) * Number(s.bsize);
}

export async function prepareBaseline(spec: BaselineSpec, c: BaselineContext, job: JobOptions = {}): Promise<PreparedBaseline> {
  const state = { rebuilt: false };
  try {
    return await prepare(spec, c, job, state);
  } catch (error) {
    // A rebuilt intermediate does not outlive a failed evaluation: the manifest says it was not kept.
    if (state.rebuilt) await fsp.rm(spec.path, { force: true });
    throw error;
  }
}

async function prepare(spec: BaselineSpec, c: BaselineContext, job: JobOptions, state: { rebuilt: boolean }): Promise<PreparedBaseline> {
  const log = job.log ?? noLog;
  const toolOpts = { ...job, tools: c.tools, threads: c.threads };
  const rebuiltId = !spec.exists && c.referenceGguf === null ? await rebuildBaseline(spec, c.statfs, job, state) : null;
  const tokenizerModel = spec.exists || state.rebuilt ? spec.path : c.referenceGguf!;
  const nVocab = ggufVocabSize(await readGgufHeader(tokenizerModel));
  job.onProgress?.({ step: 'tokenize', message: c.text.name });
  const tokenCount = await countTokens(tokenizerModel, c.text.path, toolOpts);
  const available = availableChunks(tokenCount, c.ctx, c.text.name);
  const wanted = Math.min(available, c.maxChunks ?? available);

  let baselineId = rebuiltId ?? (await baselineIdentity(spec.exists ? spec.path : null, spec.recorded ?? undefined));
  const request = (chunks: number, id = baselineId): KldBaseRequest => ({
    baselineId: id,
    text: { name: c.text.name, sha256: c.text.sha256 },
    ctx: c.ctx,
    nVocab,
    chunks,
    // A user's own build may not know its commit: then its folder stands for it.
    llamaCpp: `${c.tools.release}@${c.tools.commit ?? c.tools.binDir}`,
  });
  const done = (entry: KldBaseEntry, chunks: number, capReason: string | null): PreparedBaseline => {
    if (entry.reused)
      log(`reusing the cached KL-divergence base ${entry.file} (computed ${entry.meta.createdAt}; ${formatBytes(entry.meta.bytes)})`);
    return { spec, entry, ppl: entry.meta.ppl, nVocab, tokenCount, availableChunks: available, chunks, capReason, rebuilt: state.rebuilt };
  };

  const cached = await findKldBase(c.cacheDir, request(wanted), log);
  if (cached) return done(cached, wanted, null);

  await fsp.mkdir(c.cacheDir, { recursive: true });
  const plan = planBaseChunks({
    tokenCount,
    ctx: c.ctx,
    nVocab,
    maxChunks: wanted,
    freeBytes: await freeBytes(c.statfs, c.cacheDir),
    maxBaseBytes: c.maxBaseBytes,
    dir: c.cacheDir,
  });
  if (plan.capReason) log(plan.capReason);
  if (plan.chunks < wanted) {
    const capped = await findKldBase(c.cacheDir, request(plan.chunks), log);
    if (capped) return done(capped, plan.chunks, plan.capReason);
  }
  throwIfCancelled(job.signal);
  if (!spec.exists && !state.rebuilt) {
    baselineId = await rebuildBaseline(spec, c.statfs, job, state);
    const again = await findKldBase(c.cacheDir, request(plan.chunks), log);
    if (again) return done(again, plan.chunks, plan.capReason);
  }
  log(
    `computing the baseline's log-probabilities over ${plan.chunks} chunk(s) of ${c.ctx} tokens (${formatBytes(plan.bytes)}) into ` +
      `${c.cacheDir}`,
  );
  const entry = await computeKldBase(c.cacheDir, request(plan.chunks), spec.path, c.text.path, toolOpts);
  return done(entry, plan.chunks, plan.capReason);
}

/** Converts the model's source again into the deleted F16 intermediate; returns its identity. */
async function rebuildBaseline(spec: BaselineSpec, statfs: StatFs, job: JobOptions, state: { rebuilt: boolean }): Promise<string> {
  if (!spec.rebuildFrom) {
    throw new UsageError(
      `the F16 baseline ${spec.path} was deleted after quantizing and the model's source is not available to rebuild it: ` +
        'name an F16 GGUF of the same model as the baseline, or quantize again keeping the F16 intermediate',
      { remedies: [{ option: 'baseline' }, { option: 'keepIntermediate', value: true }] satisfies Remedy[] },
    );
  }
  const need = spec.recorded?.sizeBytes ?? 0;
  const dir = path.dirname(spec.path);
  const free = await freeBytes(statfs, dir);
  if (need && free < need + REBUILD_DISK_RESERVE_BYTES) {
    throw new FailureError(
      `rebuilding the F16 baseline needs ${formatBytes(need)} at ${dir}, and ${formatBytes(free)} is free: ` +
        'free some space or name an F16 GGUF of the model as the baseline',
      { remedies: [{ option: 'baseline' }] satisfies Remedy[] },
    );
  }
  job.log?.(`the F16 baseline ${spec.path} was deleted after quantizing (kept: false); rebuilding it from ${spec.rebuildFrom}`);
  await convertToGguf(spec.rebuildFrom, { outPath: spec.path, outType: 'f16' }, job);
  state.rebuilt = true;
  const sha = await sha256File(spec.path, { ...job, step: 'hash baseline' });
  if (spec.recorded?.sha256 && sha !== spec.recorded.sha256) {
    job.log?.(
      `the rebuilt baseline's sha256 (${sha}) differs from the manifest's (${spec.recorded.sha256}): the source or the converter ` +
        `changed since quantizing`,
    );
  }
  return `sha256:${sha}`;
}
