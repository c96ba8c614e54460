/**
 * One file of a Hub repo into `blobs/<etag>` of the cache. The bytes go to `<etag>.incomplete`
 * (the name huggingface_hub uses, so either tool resumes the other's download); an interrupted
 * transfer continues with a Range request from where the file ends, both within a run (the
 * connection dropped) and across runs (cancelled, killed). The blob is renamed into place only
 * after its size and hash match the Hub's listing: the LFS sha256, or the git blob sha1 of a
 * small file. A mismatch deletes the partial file, so a retry starts clean.
 */
import { HubApiError, fileDownloadInfo } from '@huggingface/hub';
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { CancelledError, HubError } from '../errors';
import { INCOMPLETE_SUFFIX } from './cache';
import { hubFailure, type HubClient, type HubFile } from './hub-client';
import type { HubRef } from './repo-ref';

/** Attempts per file before a dropped connection is reported (each resumes where the last stopped). */
export const MAX_ATTEMPTS = 5;
/** No byte for this long means the connection is dead: abort and resume. */
export const STALL_TIMEOUT_MS = 60_000;
const RETRY_DELAY_MS = 1000;
/** Received chunks (16-64 KiB each) are written in batches this large: one write call instead of dozens. */
const WRITE_BATCH_BYTES = 1024 * 1024;

export interface BlobTarget {
  file: HubFile;
  /** Absolute `blobs/<etag>` path. */
  blobPath: string;
}

export interface BlobDownloadContext {
  client: HubClient;
  ref: HubRef;
  commit: string;
  /** Aborted by the caller to stop every transfer (cancel, or another file failed). */
  signal: AbortSignal;
  /** Called with each chunk's size; `resumed` marks bytes an earlier attempt left on disk (negative when discarded). */
  onBytes: (bytes: number, resumed?: boolean) => void;
  log: (line: string) => void;
  stallTimeoutMs?: number;
  retryDelayMs?: number;
}

/** The blob's name in the cache: the LFS sha256, else the git blob sha1 (huggingface_hub's etag). */
export function blobName(file: HubFile): string {
  return file.lfsSha256 ?? file.gitOid;
}

/** Downloads `target` into its blob (the caller has found the blob missing). */
export async function downloadBlob(ctx: BlobDownloadContext, target: BlobTarget): Promise<void> {
  const { file, blobPath } = target;
  const incomplete = blobPath + INCOMPLETE_SUFFIX;
  if (file.sizeBytes === 0) {
    // Nothing to fetch (a Range probe of an empty file is not even satisfiable); still hashed.
    await writeFile(incomplete, '');
    return verifyAndPlace(ctx, { hash: newHash(file), bytes: 0 }, incomplete, target);
  }
  const url = await resolveUrl(ctx, file);
  const state = await openState(incomplete, file);
  ctx.onBytes(state.bytes, true);
  for (let attempt = 1; state.bytes < file.sizeBytes; attempt++) {
    try {
      await transfer(ctx, url, incomplete, state, file);
    } catch (error) {
      if (ctx.signal.aborted) throw new CancelledError();
      if (error instanceof HubError || attempt >= MAX_ATTEMPTS) throw asTransferError(ctx, error, file);
      ctx.log(`${file.path}: connection lost at ${state.bytes} of ${file.sizeBytes} bytes (${describe(error)}); resuming`);
      await delay((ctx.retryDelayMs ?? RETRY_DELAY_MS) * attempt, undefined, { signal: ctx.signal }).catch(() => undefined);
      if (ctx.signal.aborted) throw new CancelledError();
    }
  }
  await verifyAndPlace(ctx, state, incomplete, target);
}

interface TransferState {
  hash: Hash;
  bytes: number;
}

function newHash(file: HubFile): Hash {
  if (file.lfsSha256) return createHash('sha256');
  // git hashes a blob as sha1("blob <size>\0" + content)
  return createHash('sha1').update(`blob ${file.sizeBytes}\0`);
}

/** Hashes what an earlier run left in the .incomplete file, so the download continues after it. */
async function openState(incomplete: string, file: HubFile): Promise<TransferState> {
  const state: TransferState = { hash: newHash(file), bytes: 0 };
  const info = await stat(incomplete).catch(() => null);
  if (!info) return state;
  if (info.size > file.sizeBytes) {
    await rm(incomplete, { force: true });
    return state;
  }
  for await (const chunk of createReadStream(incomplete) as AsyncIterable<Buffer>) {
    state.hash.update(chunk);
    state.bytes += chunk.length;
  }
  return state;
}

/** The URL the Hub serves the file from, checked against the listing (size, LFS etag). */
async function resolveUrl(ctx: BlobDownloadContext, file: HubFile): Promise<string> {
  let info;
  try {
    info = await fileDownloadInfo({ ...ctx.client.libraryParams, repo: ctx.ref.repoId, path: file.path, revision: ctx.commit });
  } catch (error) {
    throw hubFailure(ctx.client, error, ctx.ref, 'download', file.path);
  }
  if (!info)
    throw new HubError('not-found', `${ctx.ref.repoId} at ${ctx.commit} has no file ${file.path}`, {
      repo: ctx.ref.repoId,
      file: file.path,
    });
  // The size is checked here; the content is checked against the listing's hash after the transfer.
  // (The ETag is not compared: behind a redirect it is the CDN's, not the Hub's.)
  if (info.size !== file.sizeBytes) {
    throw new HubError(
      'server',
      `the Hub describes ${file.path} of ${ctx.ref.repoId} two ways ` +
        `(listed with ${file.sizeBytes} bytes, served with ${info.size}); try again later`,
      { repo: ctx.ref.repoId, file: file.path },
    );
  }
  return info.url;
}

/** One HTTP request: from `state.bytes` to the end, appended to the .incomplete file. */
async function transfer(ctx: BlobDownloadContext, url: string, incomplete: string, state: TransferState, file: HubFile): Promise<void> {
  const attempt = new AbortController();
  const signal = AbortSignal.any([ctx.signal, attempt.signal]);
  const stallMs = ctx.stallTimeoutMs ?? STALL_TIMEOUT_MS;
  let watchdog = setTimeout(() => attempt.abort(new Error(`no data for ${stallMs / 1000} s`)), stallMs);
  const headers: Record<string, string> = { 'Accept-Encoding': 'identity' };
  if (ctx.client.access.token && sameOrigin(url, ctx.client.access.endpoint)) headers.Authorization = `Bearer ${ctx.client.access.token}`;
  if (state.bytes > 0) headers.Range = `bytes=${state.bytes}-${file.sizeBytes - 1}`;
  const handle = await open(incomplete, state.bytes > 0 ? 'a' : 'w');
  const batch: Batch = { chunks: [], bytes: 0 };
  try {
    const response = await ctx.client.fetchBody(url, { headers, redirect: 'follow' }, signal);
    if (!response.ok) {
      await response.body?.cancel();
      // Server trouble and rate limits pass; anything else (401, 403, 404) will not on a retry.
      if (response.status >= 500 || response.status === 429) throw new Error(`HTTP ${response.status}`);
      const error = new HubApiError(url, response.status, response.headers.get('x-request-id') ?? undefined, `HTTP ${response.status}`);
      throw hubFailure(ctx.client, error, ctx.ref, 'download', file.path);
    }
    if (state.bytes > 0 && !rangeStartsAt(response, state.bytes)) {
      // The server sent the whole file: start over rather than append it to what is there.
      ctx.log(`${file.path}: the server did not resume at byte ${state.bytes}; downloading it from the start`);
      await handle.truncate(0);
      ctx.onBytes(-state.bytes, true);
      Object.assign(state, { hash: newHash(file), bytes: 0 });
    }
    for await (const chunk of bodyChunks(response)) {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => attempt.abort(new Error(`no data for ${stallMs / 1000} s`)), stallMs);
      if (state.bytes + batch.bytes + chunk.length > file.sizeBytes) throw tooLong(ctx, file);
      batch.chunks.push(chunk);
      batch.bytes += chunk.length;
      ctx.onBytes(chunk.length);
      if (batch.bytes >= WRITE_BATCH_BYTES) await flush(handle, batch, state);
    }
  } finally {
    clearTimeout(watchdog);
    // What arrived before a drop is kept, so the next attempt resumes after it.
    await flush(handle, batch, state).finally(() => handle.close());
  }
  if (state.bytes < file.sizeBytes) throw attempt.signal.aborted ? attempt.signal.reason : new Error('the connection closed early');
}

/** Received bytes not yet on disk. */
interface Batch {
  chunks: Uint8Array[];
  bytes: number;
}

/**
 * Writes the batch, then hashes and counts it: `state` only ever describes bytes that are in the
 * .incomplete file, so a resume (which trusts it) never skips a byte.
 */
async function flush(handle: FileHandle, batch: Batch, state: TransferState): Promise<void> {
  if (!batch.bytes) return;
  const bytes = Buffer.concat(batch.chunks, batch.bytes);
  batch.chunks = [];
  batch.bytes = 0;
  await handle.write(bytes);
  state.hash.update(bytes);
  state.bytes += bytes.length;
}

async function verifyAndPlace(ctx: BlobDownloadContext, state: TransferState, incomplete: string, target: BlobTarget): Promise<void> {
  const { file, blobPath } = target;
  const digest = state.hash.digest('hex');
  const expected = file.lfsSha256 ?? file.gitOid;
  if (state.bytes !== file.sizeBytes || digest !== expected) {
    await rm(incomplete, { force: true });
    const kind = file.lfsSha256 ? 'LFS sha256' : 'git sha1';
    throw new HubError(
      'integrity',
      `${file.path} of ${ctx.ref.repoId} arrived corrupted: ${state.bytes} bytes with ${kind} ${digest}, ` +
        `but the Hub lists ${file.sizeBytes} bytes with ${expected}; the partial file was deleted, so downloading again starts clean`,
      { repo: ctx.ref.repoId, file: file.path },
    );
  }
  await rename(incomplete, blobPath);
}

/** The response body as an async iterable (web streams are iterable in Node, not in the DOM typings). */
function bodyChunks(response: Response): AsyncIterable<Uint8Array> {
  return (response.body ?? []) as unknown as AsyncIterable<Uint8Array>;
}

function rangeStartsAt(response: Response, offset: number): boolean {
  if (response.status !== 206) return false;
  const match = /^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '');
  return !!match && Number(match[1]) === offset;
}

function sameOrigin(url: string, endpoint: string): boolean {
  try {
    return new URL(url).origin === new URL(endpoint).origin;
  } catch {
    return false;
  }
}

function tooLong(ctx: BlobDownloadContext, file: HubFile): HubError {
  return new HubError('integrity', `${file.path} of ${ctx.ref.repoId} is longer than the ${file.sizeBytes} bytes the Hub lists`, {
    repo: ctx.ref.repoId,
    file: file.path,
  });
}

function asTransferError(ctx: BlobDownloadContext, error: unknown, file: HubFile): Error {
  if (error instanceof HubError) return error;
  return new HubError(
    'offline',
    `the download of ${file.path} of ${ctx.ref.repoId} from ${ctx.client.access.endpoint} failed ${MAX_ATTEMPTS} times ` +
      `(${describe(error)}); what arrived is kept and the next download resumes it`,
    { repo: ctx.ref.repoId, file: file.path },
    { cause: error },
  );
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}
