/**
 * The Hugging Face Hub cache on disk, shared with Python tools (huggingface_hub, transformers,
 * mlx_lm) and llama.cpp. Layout, as documented in the Hub's "Hub Local Cache" page:
 *
 *   <root>/models--<org>--<name>/blobs/<etag>           file contents (sha256 for LFS files, git sha1 otherwise)
 *   <root>/models--<org>--<name>/snapshots/<commit>/<path> relative symlinks into ../../blobs (one ../ more per subfolder)
 *   <root>/models--<org>--<name>/refs/<revision>        the commit a branch or tag pointed to (refs/pr/1 nests)
 *
 * Where symlinks are unavailable (Windows without developer mode) snapshots hold plain copies.
 * This module only reads; the download writes (hub-download.ts). It lists more than
 * `@huggingface/hub`'s scanCacheDir: snapshot subfolders, nested refs, and a cache that Python is
 * writing to at the same moment (an unreadable entry is a warning, never an exception).
 */
import type { Dirent } from 'node:fs';
import { lstat, readFile, readdir, realpath, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isTempPath } from '../fs/atomic';

/** Repo type prefix of model folders; datasets and spaces share the root but are not models. */
const MODEL_PREFIX = 'models--';
const SEPARATOR = '--';
/** A full commit hash, the name of every snapshot folder. */
export const COMMIT_HASH = /^[0-9a-f]{40}$/;
/** Suffix of a blob being downloaded (huggingface_hub's name, kept so either tool can resume the other's). */
export const INCOMPLETE_SUFFIX = '.incomplete';
/** More files than this in one snapshot is not a model a person downloaded; stop listing there. */
export const MAX_SNAPSHOT_FILES = 100_000;
/** Folder depth inside a snapshot beyond which nothing is listed (a symlink loop or a hostile tree). */
export const MAX_SNAPSHOT_DEPTH = 16;
/** A ref file is one commit hash and a newline; anything much longer is not a ref. */
const MAX_REF_BYTES = 256;

export type CacheEnv = Partial<Record<'HF_HUB_CACHE' | 'HUGGINGFACE_HUB_CACHE' | 'HF_HOME' | 'XDG_CACHE_HOME', string>>;

/**
 * The cache root the way huggingface_hub resolves it: `$HF_HUB_CACHE` (or its legacy name
 * `$HUGGINGFACE_HUB_CACHE`), else `$HF_HOME/hub`, else `$XDG_CACHE_HOME/huggingface/hub`, else
 * `~/.cache/huggingface/hub`. A leading `~` is expanded, as Python's expanduser does.
 */
export function hubCacheRoot(env: CacheEnv = process.env, home: string = os.homedir()): string {
  const direct = env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE;
  if (direct) return expandHome(direct, home);
  if (env.HF_HOME) return path.join(expandHome(env.HF_HOME, home), 'hub');
  const cacheHome = env.XDG_CACHE_HOME ? expandHome(env.XDG_CACHE_HOME, home) : path.join(home, '.cache');
  return path.join(cacheHome, 'huggingface', 'hub');
}

function expandHome(p: string, home: string): string {
  if (p === '~') return home;
  if (p.startsWith('~/') || p.startsWith(`~${path.sep}`)) return path.join(home, p.slice(2));
  return path.resolve(p);
}

/** `org/name` -> `models--org--name` (casing kept, every `/` becomes `--`). */
export function repoFolderName(repoId: string): string {
  return MODEL_PREFIX + repoId.split('/').join(SEPARATOR);
}

/** `models--org--name` -> `org/name`; null for datasets, spaces and anything else. */
export function repoIdFromFolderName(folder: string): string | null {
  if (!folder.startsWith(MODEL_PREFIX)) return null;
  const rest = folder.slice(MODEL_PREFIX.length);
  if (!rest || rest.startsWith(SEPARATOR) || rest.endsWith(SEPARATOR)) return null;
  return rest.split(SEPARATOR).join('/');
}

/** Absolute folder of a repo in the cache (whether or not it exists). */
export function repoCachePath(repoId: string, cacheRoot: string = hubCacheRoot()): string {
  return path.join(cacheRoot, repoFolderName(repoId));
}

/**
 * The lock file Llama-Pajamas holds while it writes a repo (download, delete), where
 * huggingface_hub keeps its per-blob locks (`.locks/models--org--name/`).
 */
export function repoLockPath(repoId: string, cacheRoot: string = hubCacheRoot()): string {
  return path.join(cacheRoot, '.locks', repoFolderName(repoId), 'llama-pajamas.lock');
}

export interface CachedFile {
  /** Path inside the snapshot with `/` separators, e.g. `config.json` or `text_encoder/model.safetensors`. */
  path: string;
  sizeBytes: number;
  /** Name of the blob it links to; null when the snapshot holds a plain copy (no-symlink mode). */
  blob: string | null;
}

export interface CachedSnapshot {
  /** The commit hash (the snapshot folder's name). */
  commit: string;
  /** Absolute snapshot folder: a model folder the pipeline can read. */
  path: string;
  /** Refs (branches, tags, `refs/pr/N`) that point at this commit. */
  refs: string[];
  files: CachedFile[];
  /** Sum of the files' sizes. */
  sizeBytes: number;
  /** Newest modification time among the files (ms since the epoch); the folder's own when empty. */
  lastModifiedMs: number;
}

export interface CachedModel {
  /** `org/name` (or `name` for the few repos without an owner). */
  repoId: string;
  /** Absolute repo folder, `<root>/models--org--name`. */
  path: string;
  /** Every ref and the commit it names, including refs whose snapshot is absent. */
  refs: Record<string, string>;
  /** Newest first. */
  snapshots: CachedSnapshot[];
  /** Bytes on disk of the distinct files the snapshots use (a blob shared by two snapshots counts once). */
  sizeBytes: number;
  /** Bytes in `.incomplete` downloads waiting to be resumed. */
  incompleteBytes: number;
  lastModifiedMs: number;
  /** What could not be read (a dangling link, an unreadable ref); the rest is still listed. */
  warnings: string[];
}

export interface ListCachedModelsOptions {
  /** Cache root; defaults to hubCacheRoot(). */
  cacheDir?: string;
}

/**
 * Every model repo in the cache, sorted by repo id. A missing cache is an empty list. Read only:
 * nothing is created, repaired or deleted.
 */
export async function listCachedModels(opts: ListCachedModelsOptions = {}): Promise<CachedModel[]> {
  const root = opts.cacheDir ?? hubCacheRoot();
  const entries = await readdir(root, { withFileTypes: true }).catch(() => [] as Dirent[]);
  const models: CachedModel[] = [];
  for (const entry of entries) {
    const repoId = repoIdFromFolderName(entry.name);
    if (!repoId || !entry.isDirectory()) continue;
    models.push(await readCachedModel(path.join(root, entry.name), repoId));
  }
  return models.sort((a, b) => a.repoId.localeCompare(b.repoId));
}

/** One repo of the cache, or null when it holds no repo folder. */
export async function readCachedRepo(repoId: string, opts: ListCachedModelsOptions = {}): Promise<CachedModel | null> {
  const folder = repoCachePath(repoId, opts.cacheDir ?? hubCacheRoot());
  const info = await stat(folder).catch(() => null);
  return info?.isDirectory() ? readCachedModel(folder, repoId) : null;
}

/**
 * The snapshot a user means by the repo: the one `refs/main` names, else the newest. Null when the
 * repo has no snapshot.
 */
export function preferredSnapshot(model: CachedModel): CachedSnapshot | null {
  const main = model.refs.main;
  return model.snapshots.find((s) => s.commit === main) ?? model.snapshots[0] ?? null;
}

async function readCachedModel(folder: string, repoId: string): Promise<CachedModel> {
  const warnings: string[] = [];
  const refs = await readRefs(path.join(folder, 'refs'), warnings);
  const snapshotsDir = path.join(folder, 'snapshots');
  const names = (await readdir(snapshotsDir).catch(() => [] as string[])).filter((n) => !n.startsWith('.')).sort();
  const blobSizes = new Map<string, number>();
  const snapshots: CachedSnapshot[] = [];
  for (const commit of names) {
    const dir = path.join(snapshotsDir, commit);
    if (!(await stat(dir).catch(() => null))?.isDirectory()) continue;
    if (!COMMIT_HASH.test(commit)) warnings.push(`snapshots/${commit} is not named by a commit hash`);
    const refNames = Object.keys(refs).filter((r) => refs[r] === commit);
    snapshots.push(await readSnapshot(dir, commit, refNames, blobSizes, warnings));
  }
  for (const [ref, commit] of Object.entries(refs)) {
    if (!names.includes(commit)) warnings.push(`refs/${ref} names ${commit}, which has no snapshot here`);
  }
  snapshots.sort((a, b) => b.lastModifiedMs - a.lastModifiedMs || a.commit.localeCompare(b.commit));
  const ownMtime = (await stat(folder).catch(() => null))?.mtimeMs ?? 0;
  return {
    repoId,
    path: folder,
    refs,
    snapshots,
    sizeBytes: [...blobSizes.values()].reduce((a, b) => a + b, 0),
    incompleteBytes: await incompleteBytes(path.join(folder, 'blobs')),
    lastModifiedMs: Math.max(ownMtime, ...snapshots.map((s) => s.lastModifiedMs)),
    warnings,
  };
}

/** refs/ as `{name: commit}`; nested files (refs/refs/pr/1) are named by their relative path. */
async function readRefs(dir: string, warnings: string[]): Promise<Record<string, string>> {
  const refs: Record<string, string> = {};
  for (const name of await walkFiles(dir, (message) => warnings.push(`refs/${message}`))) {
    if (isTempPath(name)) continue; // a ref being written (by us) right now
    const full = path.join(dir, ...name.split('/'));
    const info = await stat(full).catch(() => null);
    const text = info?.isFile() && info.size <= MAX_REF_BYTES ? await readFile(full, 'utf8').catch(() => null) : null;
    const commit = text?.trim();
    if (commit && COMMIT_HASH.test(commit)) refs[name] = commit;
    else warnings.push(`refs/${name} does not hold a commit hash`);
  }
  return refs;
}

async function readSnapshot(
  dir: string,
  commit: string,
  refs: string[],
  blobSizes: Map<string, number>,
  warnings: string[],
): Promise<CachedSnapshot> {
  const files: CachedFile[] = [];
  let lastModifiedMs = (await stat(dir).catch(() => null))?.mtimeMs ?? 0;
  let newestFile = 0;
  for (const relative of await walkFiles(dir, (message) => warnings.push(`snapshots/${commit}/${message}`))) {
    if (isTempPath(relative)) continue; // a link being replaced right now
    const full = path.join(dir, ...relative.split('/'));
    const target = await realpath(full).catch(() => null);
    const info = target ? await stat(target).catch(() => null) : null;
    if (!target || !info?.isFile()) {
      warnings.push(`snapshots/${commit}/${relative} links to a missing file`);
      continue;
    }
    const isLink = (await lstat(full)).isSymbolicLink();
    files.push({ path: relative, sizeBytes: info.size, blob: isLink ? path.basename(target) : null });
    blobSizes.set(target, info.size);
    newestFile = Math.max(newestFile, info.mtimeMs);
  }
  if (newestFile) lastModifiedMs = newestFile;
  return { commit, path: dir, refs, files, sizeBytes: files.reduce((a, f) => a + f.sizeBytes, 0), lastModifiedMs };
}

/**
 * Relative paths (with `/`) of the entries under `root` that are not folders, subfolders included,
 * sorted. Symlinks are not followed into folders, so a link loop cannot trap the walk.
 */
async function walkFiles(root: string, warn: (message: string) => void): Promise<string[]> {
  const out: string[] = [];
  const pending: Array<{ dir: string; prefix: string; depth: number }> = [{ dir: root, prefix: '', depth: 0 }];
  while (pending.length) {
    const { dir, prefix, depth } = pending.pop()!;
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => [] as Dirent[]);
    for (const entry of entries) {
      const relative = prefix + entry.name;
      if (entry.isDirectory()) {
        if (depth + 1 < MAX_SNAPSHOT_DEPTH) pending.push({ dir: path.join(dir, entry.name), prefix: `${relative}/`, depth: depth + 1 });
        else warn(`${relative} is nested deeper than ${MAX_SNAPSHOT_DEPTH} folders; not listed`);
        continue;
      }
      if (out.length >= MAX_SNAPSHOT_FILES) {
        warn(`more than ${MAX_SNAPSHOT_FILES} files; the rest are not listed`);
        return out.sort();
      }
      out.push(relative);
    }
  }
  return out.sort();
}

async function incompleteBytes(blobsDir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(blobsDir).catch(() => [] as string[])) {
    if (!name.endsWith(INCOMPLETE_SUFFIX)) continue;
    total += (await stat(path.join(blobsDir, name)).catch(() => null))?.size ?? 0;
  }
  return total;
}
