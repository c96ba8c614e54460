/**
 * The baseline's log-probabilities (llama-perplexity --kl-divergence-base), computed once per
 * baseline + text + context + chunk count + llama.cpp build and kept in the cache:
 * `<cache>/kld-base/<key>/{base.bin, meta.json}`. The base file is written under a temporary
 * name, checked against the exact size its header implies, renamed, and only then is meta.json
 * written: an entry counts as complete only with both, so a killed run never leaves one that looks
 * finished. The baseline's perplexity is stored with it, so a cached entry spares the baseline
 * pass entirely (and spares rebuilding a deleted F16 intermediate).
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { FailureError, ToolError } from '../errors';
import { removeStaleTemps, tempPathFor, writeAtomically } from '../fs/atomic';
import { llamaCacheRoot } from '../llamacpp';
import type { TextRef } from '../manifest/types';
import { type KldBaseHeader, checkKldBaseFile, pplFromKldBase } from './kld-base';
import { parsePerplexityOutput } from './perplexity-output';
import { type ToolRunOptions, perplexityArgs, runPerplexityTool } from './perplexity';

/** Bump when the entry layout or what goes into the key changes. */
export const KLD_CACHE_FORMAT = 1;
const BASE_FILE = 'base.bin';
const META_FILE = 'meta.json';

export interface KldBaseRequest {
  /** What the baseline is: "sha256:<hex>" or "file:<abs path>:<size>:<mtimeMs>" (see baselineIdentity). */
  baselineId: string;
  text: TextRef;
  ctx: number;
  nVocab: number;
  /** Chunks the base covers (after any cap). */
  chunks: number;
  /** llama.cpp release and commit of the tools. */
  llamaCpp: string;
}

export interface KldBaseMeta {
  format: number;
  key: string;
  request: KldBaseRequest;
  header: KldBaseHeader;
  bytes: number;
  /** The baseline's perplexity over the same chunks. */
  ppl: number;
  /** "final-estimate": llama-perplexity's own line; "base-file": recomputed from the file (line lost). */
  pplSource: 'final-estimate' | 'base-file';
  createdAt: string;
}

export interface KldBaseEntry {
  dir: string;
  file: string;
  meta: KldBaseMeta;
  /** True when the entry was already in the cache. */
  reused: boolean;
}

export function defaultKldCacheDir(): string {
  return path.join(llamaCacheRoot(), 'kld-base');
}

export function kldCacheKey(req: KldBaseRequest): string {
  const canonical = JSON.stringify([KLD_CACHE_FORMAT, req.baselineId, req.text.sha256, req.ctx, req.nVocab, req.chunks, req.llamaCpp]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 32);
}

/**
 * The baseline's identity for the cache key: its recorded sha256 when the manifest has one (and
 * the file, if present, still has the recorded size), else its path, size and mtime, which
 * spares hashing a multi-gigabyte file on every evaluation.
 */
export async function baselineIdentity(
  file: string | null,
  recorded?: { sha256: string | null; sizeBytes: number | null },
): Promise<string> {
  const info = file ? await fsp.stat(file).catch(() => null) : null;
  if (recorded?.sha256 && (!info || recorded.sizeBytes === null || info.size === recorded.sizeBytes)) return `sha256:${recorded.sha256}`;
  if (!file || !info) throw new FailureError(`the baseline ${file ?? '(none)'} does not exist and the manifest records no sha256 for it`);
  return `file:${path.resolve(file)}:${info.size}:${Math.round(info.mtimeMs)}`;
}

/** The cached entry for `req`, or null when absent or incomplete. */
export async function findKldBase(cacheDir: string, req: KldBaseRequest, log?: (line: string) => void): Promise<KldBaseEntry | null> {
  const key = kldCacheKey(req);
  const dir = path.join(cacheDir, key);
  const file = path.join(dir, BASE_FILE);
  const metaText = await fsp.readFile(path.join(dir, META_FILE), 'utf8').catch(() => null);
  if (metaText === null) return null;
  try {
    const meta = JSON.parse(metaText) as KldBaseMeta;
    if (meta.format !== KLD_CACHE_FORMAT || meta.key !== key) return null;
    await checkKldBaseFile(file, { nCtx: req.ctx, nChunk: req.chunks, nVocab: req.nVocab });
    return { dir, file, meta, reused: true };
  } catch (error) {
    log?.(`ignoring the cached KL-divergence base in ${dir}: ${(error as Error).message}`);
    return null;
  }
}

/** Computes the base for `req` from `baselineFile` into the cache (llama-perplexity over `textFile`). */
export async function computeKldBase(
  cacheDir: string,
  req: KldBaseRequest,
  baselineFile: string,
  textFile: string,
  opts: ToolRunOptions = {},
): Promise<KldBaseEntry> {
  const key = kldCacheKey(req);
  const dir = path.join(cacheDir, key);
  const file = path.join(dir, BASE_FILE);
  await fsp.mkdir(dir, { recursive: true });
  await fsp.rm(path.join(dir, META_FILE), { force: true });
  await removeStaleTemps(dir);
  const tmp = tempPathFor(file);
  const expected = { nCtx: req.ctx, nChunk: req.chunks, nVocab: req.nVocab };
  let ppl: number | null;
  try {
    const run = await runPerplexityTool(
      [...perplexityArgs(baselineFile, textFile, req.ctx, req.chunks), '--kl-divergence-base', tmp],
      (text) => {
        const out = parsePerplexityOutput(text);
        // The base file is the result; the perplexity line may be lost (checked below).
        return out.errors.length && out.ppl === null ? { result: null, errors: out.errors } : { result: out, errors: [] };
      },
      `computing the baseline's log-probabilities (${baselineFile})`,
      { ...opts, progressStep: 'baseline logits', totalChunks: req.chunks },
    );
    ppl = run.result.ppl;
    await checkKldBaseFile(tmp, expected).catch((error: Error) => {
      throw new ToolError(
        'llama-perplexity',
        0,
        [error.message],
        `llama-perplexity did not write a complete KL-divergence base for ${baselineFile}`,
      );
    });
    await fsp.rename(tmp, file);
  } catch (error) {
    await fsp.rm(tmp, { force: true });
    throw error;
  }
  let pplSource: KldBaseMeta['pplSource'] = 'final-estimate';
  if (ppl === null || !Number.isFinite(ppl)) {
    opts.log?.(`llama-perplexity's "Final estimate" line was lost; the baseline's perplexity is recomputed from the base file`);
    ppl = await pplFromKldBase(file);
    pplSource = 'base-file';
  }
  const header = await checkKldBaseFile(file, expected);
  const bytes = (await fsp.stat(file)).size;
  const meta: KldBaseMeta = {
    format: KLD_CACHE_FORMAT,
    key,
    request: req,
    header,
    bytes,
    ppl,
    pplSource,
    createdAt: new Date().toISOString(),
  };
  await writeAtomically(path.join(dir, META_FILE), (t) => fsp.writeFile(t, `${JSON.stringify(meta, null, 2)}\n`));
  return { dir, file, meta, reused: false };
}
