/**
 * downloadHubModel(`org/name[@revision]`): the files a conversion needs, into the Hugging Face
 * cache shared with Python tools (see cache.ts for the layout). Blobs already there, whoever
 * downloaded them, are reused; the rest download in parallel (bounded), each resumable and
 * verified (blob-download.ts). Snapshot links and the ref are written only once every blob is in
 * place, so a failed or cancelled download never leaves a snapshot that looks complete.
 * Offline (HF_HUB_OFFLINE, or the Hub unreachable) a complete cached snapshot is used instead.
 */
import { copyFile, lstat, mkdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CancelledError, HubError } from '../errors';
import { removeStaleTemps, tempPathFor, writeAtomically } from '../fs/atomic';
import type { JobOptions } from '../job';
import { acquireLock } from '../llamacpp/lock';
import { checkFreeSpace, freeSpace, type FreeSpace } from '../pipeline/disk';
import { formatBytes } from '../units';
import { blobName, downloadBlob, type BlobDownloadContext, type BlobTarget } from './blob-download';
import { INCOMPLETE_SUFFIX, repoCachePath, repoLockPath } from './cache';
import type { HubAccess } from './hub-access';
import { cachedSnapshot } from './hub-cached';
import { createHubClient, listRepoFiles, resolveCommit, type HubClient, type HubFile } from './hub-client';
import { findIndexFile, selectConversionFiles, shardsFromIndex } from './hub-files';
import { formatHubRef, parseHubRef, type HubRef } from './repo-ref';

/** Files downloading at once: enough to fill a fast link with a few large shards, few enough to be polite. */
export const DEFAULT_CONCURRENCY = 4;
/** Progress events per second at most (the CLI redraws a bar per event). */
const PROGRESS_INTERVAL_MS = 100;

export interface HubDownloadOptions extends JobOptions {
  hub?: HubAccess;
  /** Extra files by glob (`original/params.json`, `*Q4_K_M.gguf`), beyond what a conversion needs. */
  include?: readonly string[];
  concurrency?: number;
  /** For tests: the free-space probe, the stall timeout and the pause between retries. */
  freeSpace?: FreeSpace;
  stallTimeoutMs?: number;
  retryDelayMs?: number;
}

export interface SnapshotFile {
  path: string;
  sizeBytes: number;
  /** The content's sha256 when the Hub lists it (LFS files), so nobody hashes the file again. */
  sha256: string | null;
}

export interface HubSnapshot {
  repoId: string;
  /** The revision asked for (`main`, a tag, a commit). */
  revision: string;
  commit: string;
  /** Absolute `snapshots/<commit>` folder: a model folder the pipeline reads. */
  path: string;
  files: SnapshotFile[];
  totalBytes: number;
  /** Bytes that came over the network in this call (0 when everything was cached). */
  downloadedBytes: number;
  /** Where the snapshot came from: the Hub (checked now), or the cache alone (offline). */
  origin: 'hub' | 'cache';
}

export async function downloadHubModel(input: string | HubRef, opts: HubDownloadOptions = {}): Promise<HubSnapshot> {
  const ref = typeof input === 'string' ? parseHubRef(input) : input;
  const log = opts.log ?? (() => {});
  const client = createHubClient(opts.hub, opts.signal);
  const { cacheDir } = client.access;
  if (client.access.offline) return offlineSnapshot(ref, cacheDir, 'HF_HUB_OFFLINE is set', opts.include, log);
  let commit: string;
  try {
    commit = await resolveCommit(client, ref);
  } catch (error) {
    if (!(error instanceof HubError && error.reason === 'offline')) throw error;
    const cached = await cachedSnapshot(ref, cacheDir, opts.include);
    if (!cached) throw new HubError('offline', `${error.message}; nothing usable of it is cached in ${cacheDir}`, { repo: ref.repoId });
    log(`cannot reach ${client.access.endpoint}: using the cached snapshot ${cached.commit} of ${formatHubRef(ref)}`);
    return cached;
  }
  const listing = await listRepoFiles(client, ref, commit);
  const repoDir = repoCachePath(ref.repoId, cacheDir);
  await mkdir(path.join(repoDir, 'blobs'), { recursive: true });
  const lock = repoLockPath(ref.repoId, cacheDir);
  await mkdir(path.dirname(lock), { recursive: true });
  const release = await acquireLock(lock, {
    signal: opts.signal,
    purpose: `download ${ref.repoId}`,
    onWait: (owner) => log(`waiting for ${owner ? `process ${owner.pid}` : 'another process'} to finish downloading ${ref.repoId}`),
  });
  try {
    return await downloadLocked(client, ref, commit, listing, repoDir, opts);
  } finally {
    await release();
  }
}

async function downloadLocked(
  client: HubClient,
  ref: HubRef,
  commit: string,
  listing: HubFile[],
  repoDir: string,
  opts: HubDownloadOptions,
): Promise<HubSnapshot> {
  const log = opts.log ?? (() => {});
  const target = (file: HubFile): BlobTarget => ({ file, blobPath: path.join(repoDir, 'blobs', blobName(file)) });
  const index = findIndexFile(listing);
  let shards: string[] | null = null;
  if (index) {
    await fetchBlobs(client, ref, commit, await missingBlobs([target(index)]), opts, () => {});
    shards = shardsFromIndex(await readFile(target(index).blobPath, 'utf8'), ref.repoId);
  }
  const selected = selectConversionFiles(ref.repoId, listing, shards, opts.include);
  for (const f of selected) checkRepoPath(f.path, ref);
  const pending = await missingBlobs(selected.map(target));
  const need = pending.reduce((n, t) => n + t.file.sizeBytes - t.onDisk, 0);
  const totalBytes = selected.reduce((n, f) => n + f.sizeBytes, 0);
  if (need > 0) {
    log(
      `${formatHubRef(ref)} at ${commit.slice(0, 12)}: ` +
        `${selected.length} files, ${formatBytes(totalBytes)}; ${formatBytes(need)} to download`,
    );
    await checkFreeSpace(
      client.access.cacheDir,
      [{ what: `${ref.repoId} (${pending.length} files)`, bytes: need }],
      opts.freeSpace ?? freeSpace,
      { advice: 'free some space, or point HF_HUB_CACHE (or HF_HOME) at a disk with room', remedies: [] },
    );
  }
  const pendingBytes = pending.reduce((n, t) => n + t.file.sizeBytes, 0);
  const step = `download ${formatHubRef(ref)}`;
  const downloaded = await fetchBlobs(client, ref, commit, pending, opts, (done) =>
    opts.onProgress?.({ step, done, total: pendingBytes, unit: 'bytes' }),
  );
  const snapshotDir = path.join(repoDir, 'snapshots', commit);
  await removeStaleTemps(snapshotDir); // links a killed run made but never renamed
  for (const f of selected) await linkIntoSnapshot(snapshotDir, f.path, target(f).blobPath);
  if (ref.revision !== commit) await writeRef(repoDir, ref.revision, commit);
  return {
    repoId: ref.repoId,
    revision: ref.revision,
    commit,
    path: snapshotDir,
    files: selected.map((f) => ({ path: f.path, sizeBytes: f.sizeBytes, sha256: f.lfsSha256 })),
    totalBytes,
    downloadedBytes: downloaded,
    origin: 'hub',
  };
}

interface PendingBlob extends BlobTarget {
  /** Bytes of an earlier attempt already in the .incomplete file. */
  onDisk: number;
}

/** The targets whose blob is absent or has the wrong size, one per blob. */
async function missingBlobs(targets: BlobTarget[]): Promise<PendingBlob[]> {
  const seen = new Set<string>();
  const out: PendingBlob[] = [];
  for (const t of targets) {
    if (seen.has(t.blobPath)) continue;
    seen.add(t.blobPath);
    const info = await stat(t.blobPath).catch(() => null);
    if (info?.isFile() && info.size === t.file.sizeBytes) continue;
    const partial = await stat(t.blobPath + INCOMPLETE_SUFFIX).catch(() => null);
    out.push({ ...t, onDisk: partial && partial.size <= t.file.sizeBytes ? partial.size : 0 });
  }
  return out.sort((a, b) => b.file.sizeBytes - a.file.sizeBytes); // large files first: the pool ends sooner
}

/**
 * Downloads the targets, `concurrency` at a time. The first failure stops the others (what they
 * wrote stays for the next run to resume). Returns the bytes that came over the network.
 */
async function fetchBlobs(
  client: HubClient,
  ref: HubRef,
  commit: string,
  targets: BlobTarget[],
  opts: HubDownloadOptions,
  report: (done: number) => void,
): Promise<number> {
  const stop = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;
  let done = 0;
  let fetched = 0;
  let lastReport = 0;
  const ctx: BlobDownloadContext = {
    client,
    ref,
    commit,
    signal,
    log: opts.log ?? (() => {}),
    stallTimeoutMs: opts.stallTimeoutMs,
    retryDelayMs: opts.retryDelayMs,
    onBytes: (bytes, resumed) => {
      done += bytes;
      if (!resumed) fetched += bytes;
      const now = Date.now();
      if (now - lastReport >= PROGRESS_INTERVAL_MS) {
        lastReport = now;
        report(done);
      }
    },
  };
  const queue = [...targets];
  let failure: unknown = null;
  const worker = async () => {
    for (let next = queue.shift(); next && !failure; next = queue.shift()) {
      try {
        await downloadBlob(ctx, next);
      } catch (error) {
        failure ??= error;
        stop.abort();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? DEFAULT_CONCURRENCY, targets.length)) }, worker));
  if (failure) throw opts.signal?.aborted ? new CancelledError() : failure;
  if (targets.length) report(done);
  return fetched;
}

/** A repo path from the listing must stay inside the snapshot (a hostile server could send `../x`). */
function checkRepoPath(p: string, ref: HubRef): void {
  const segments = p.split('/');
  if (p.startsWith('/') || p.includes('\\') || segments.some((s) => s === '' || s === '.' || s === '..'))
    throw new HubError('server', `the Hub listed a file of ${ref.repoId} with an unsafe path: ${JSON.stringify(p)}`, { repo: ref.repoId });
}

/**
 * `snapshots/<commit>/<path>` -> the blob, as a relative symlink (`../../blobs/<etag>`, one `../`
 * more per subfolder), replaced atomically. Where symlinks are not allowed (Windows without
 * developer mode) the blob is copied, as huggingface_hub does.
 */
async function linkIntoSnapshot(snapshotDir: string, repoPath: string, blobPath: string): Promise<void> {
  const pointer = path.join(snapshotDir, ...repoPath.split('/'));
  await mkdir(path.dirname(pointer), { recursive: true });
  const relative = path.relative(path.dirname(pointer), blobPath);
  const existing = await lstat(pointer).catch(() => null);
  if (existing?.isSymbolicLink() && (await stat(pointer).catch(() => null))?.size === (await stat(blobPath)).size) return;
  const tmp = tempPathFor(pointer);
  try {
    await symlink(relative, tmp);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') throw error;
    await copyFile(blobPath, tmp);
  }
  try {
    await rename(tmp, pointer);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/** refs/<revision> holds the commit (no newline, as huggingface_hub writes it); refs/pr/1 nests. */
async function writeRef(repoDir: string, revision: string, commit: string): Promise<void> {
  const file = path.join(repoDir, 'refs', ...revision.split('/'));
  await mkdir(path.dirname(file), { recursive: true });
  const current = await readFile(file, 'utf8').catch(() => null);
  if (current?.trim() === commit) return;
  await writeAtomically(file, (tmp) => writeFile(tmp, commit));
}

async function offlineSnapshot(
  ref: HubRef,
  cacheDir: string,
  why: string,
  include: readonly string[] | undefined,
  log: (line: string) => void,
): Promise<HubSnapshot> {
  const cached = await cachedSnapshot(ref, cacheDir, include);
  if (!cached) {
    throw new HubError('offline', `${why} and ${formatHubRef(ref)} is not in the cache (${cacheDir}) with the files a conversion needs`, {
      repo: ref.repoId,
    });
  }
  log(`${why}: using the cached snapshot ${cached.commit} of ${formatHubRef(ref)}`);
  return cached;
}
