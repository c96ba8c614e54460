/**
 * Deleting a model from the Hugging Face cache (the tree's Delete action): its whole repo folder,
 * refused while a download of it runs. Other repos' blobs are never touched.
 */
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors';
import { acquireLock } from '../llamacpp/lock';
import { readCachedRepo, repoLockPath } from './cache';
import { resolveHubAccess, type HubAccess } from './hub-access';
import { isHubRepoId } from './repo-ref';

/** Removes `org/name` from the cache; returns the bytes freed (0 when it was not cached). */
export async function deleteCachedModel(repoId: string, access: HubAccess = {}): Promise<number> {
  if (!isHubRepoId(repoId)) throw new UsageError(`"${repoId}" is not a Hugging Face repo id (owner/name)`);
  const { cacheDir } = resolveHubAccess(access);
  const model = await readCachedRepo(repoId, { cacheDir });
  if (!model) return 0;
  const lock = repoLockPath(repoId, cacheDir);
  await mkdir(path.dirname(lock), { recursive: true });
  // The same lock a download holds: fail at once (naming the process) instead of deleting under it.
  const release = await acquireLock(lock, { wait: false, purpose: `delete ${repoId}` }).catch((error: unknown) => {
    throw new UsageError(`${repoId} is being downloaded right now; delete it when the download ends (${(error as Error).message})`);
  });
  try {
    await rm(model.path, { recursive: true, force: true });
  } finally {
    await release();
  }
  await rm(path.dirname(lock), { recursive: true, force: true });
  return model.sizeBytes + model.incompleteBytes;
}
