/**
 * Remembered SHA-256 results, so opening the same multi-gigabyte artifact again does not hash it
 * again: an entry holds the size and modification time the file had when it was hashed, and is
 * used only while both are unchanged. One small JSON file in the user cache folder.
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { writeAtomically } from '../fs/atomic';
import { sha256File } from '../fs/hash';
import type { JobOptions } from '../job';

/** Enough for every artifact a user keeps around; the oldest entries go first. */
export const HASH_CACHE_MAX_ENTRIES = 256;

interface Entry {
  sizeBytes: number;
  mtimeMs: number;
  sha256: string;
  hashedAt: number;
}

/** <cache>/runtime/hashes.json, where <cache> is PAJAMAS_CACHE_DIR, $XDG_CACHE_HOME/llama-pajamas or ~/.cache/llama-pajamas. */
export function defaultHashCacheFile(env: NodeJS.ProcessEnv = process.env): string {
  const root = env.PAJAMAS_CACHE_DIR
    ? path.resolve(env.PAJAMAS_CACHE_DIR)
    : path.join(env.XDG_CACHE_HOME ? path.resolve(env.XDG_CACHE_HOME) : path.join(os.homedir(), '.cache'), 'llama-pajamas');
  return path.join(root, 'runtime', 'hashes.json');
}

async function load(cacheFile: string): Promise<Record<string, Entry>> {
  try {
    const value = JSON.parse(await readFile(cacheFile, 'utf8')) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, Entry>) : {};
  } catch {
    return {}; // missing or damaged: start over, it is only a cache
  }
}

/**
 * The file's SHA-256, from the cache when size and mtime are unchanged, else computed (and
 * remembered). `cacheFile` null: always compute, remember nothing.
 */
export async function cachedSha256(file: string, cacheFile: string | null, opts: JobOptions & { step?: string } = {}): Promise<string> {
  const abs = path.resolve(file);
  const info = await stat(abs);
  const entries = cacheFile ? await load(cacheFile) : {};
  const hit = entries[abs];
  if (hit && hit.sizeBytes === info.size && hit.mtimeMs === info.mtimeMs && typeof hit.sha256 === 'string') return hit.sha256;
  const sha256 = await sha256File(abs, opts);
  if (cacheFile) {
    const fresh = await load(cacheFile); // another process may have added entries meanwhile
    fresh[abs] = { sizeBytes: info.size, mtimeMs: info.mtimeMs, sha256, hashedAt: Date.now() };
    const kept = Object.entries(fresh)
      .sort(([, a], [, b]) => b.hashedAt - a.hashedAt)
      .slice(0, HASH_CACHE_MAX_ENTRIES);
    await mkdir(path.dirname(cacheFile), { recursive: true });
    await writeAtomically(cacheFile, (tmp) => writeFile(tmp, JSON.stringify(Object.fromEntries(kept)))).catch(() => {});
  }
  return sha256;
}
