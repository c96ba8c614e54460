/**
 * A repo revision served from the cache alone (offline, or HF_HUB_OFFLINE): the snapshot its ref
 * names, accepted only when it holds everything a conversion needs, whoever downloaded it.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PajamasError } from '../errors';
import { SAFETENSORS_INDEX_FILE } from '../formats/safetensors';
import { COMMIT_HASH, readCachedRepo, repoCachePath } from './cache';
import type { HubFile } from './hub-client';
import type { HubSnapshot } from './hub-download';
import { selectConversionFiles, shardsFromIndex } from './hub-files';
import type { HubRef } from './repo-ref';

const LFS_SHA256 = /^[0-9a-f]{64}$/;

/** The commit a revision names in the cache: itself when it is a hash, else refs/<revision>. */
export async function cachedCommit(ref: HubRef, cacheDir: string): Promise<string | null> {
  if (COMMIT_HASH.test(ref.revision)) return ref.revision;
  const file = path.join(repoCachePath(ref.repoId, cacheDir), 'refs', ...ref.revision.split('/'));
  const text = (await readFile(file, 'utf8').catch(() => ''))?.trim();
  return COMMIT_HASH.test(text) ? text : null;
}

/** The cached snapshot of `ref` when it is complete for a conversion (and `include`), else null. */
export async function cachedSnapshot(ref: HubRef, cacheDir: string, include: readonly string[] = []): Promise<HubSnapshot | null> {
  const commit = await cachedCommit(ref, cacheDir);
  if (!commit) return null;
  const repo = await readCachedRepo(ref.repoId, { cacheDir });
  const snapshot = repo?.snapshots.find((s) => s.commit === commit);
  if (!snapshot) return null;
  // The cached files described the way the Hub lists them, so the same selection rule applies.
  const listing: HubFile[] = snapshot.files.map((f) => ({
    path: f.path,
    sizeBytes: f.sizeBytes,
    gitOid: f.blob ?? '',
    lfsSha256: f.blob && LFS_SHA256.test(f.blob) ? f.blob : null,
  }));
  let selected: HubFile[];
  try {
    const hasIndex = listing.some((f) => f.path === SAFETENSORS_INDEX_FILE);
    const shards = hasIndex ? shardsFromIndex(await readFile(path.join(snapshot.path, SAFETENSORS_INDEX_FILE), 'utf8'), ref.repoId) : null;
    selected = selectConversionFiles(ref.repoId, listing, shards, include);
  } catch (error) {
    if (error instanceof PajamasError) return null; // incomplete: a conversion could not run from it
    throw error;
  }
  return {
    repoId: ref.repoId,
    revision: ref.revision,
    commit,
    path: snapshot.path,
    files: selected.map((f) => ({ path: f.path, sizeBytes: f.sizeBytes, sha256: f.lfsSha256 })),
    totalBytes: selected.reduce((n, f) => n + f.sizeBytes, 0),
    downloadedBytes: 0,
    origin: 'cache',
  };
}
