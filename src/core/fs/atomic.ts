/**
 * Atomic outputs: every file or folder Llama-Pajamas produces is written under a temporary name in
 * the same folder and renamed into place only when complete, so a crash, an error or a cancel never
 * leaves something that looks finished. Same folder, because rename(2) is only atomic within one
 * file system. Temporary names end in `.partial` and carry the writer's pid, so a leftover is easy to
 * recognise (and to attribute) after a crash.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { InternalError, throwIfCancelled } from '../errors';

/** Suffix of every temporary output name. */
export const TEMP_SUFFIX = '.partial';

/** `.<name>.<pid>-<8 hex>.partial`; group 1 is the writer's pid. */
const TEMP_NAME = /^\..+\.(\d+)-[0-9a-f]{8}\.partial$/;

/**
 * A temporary path next to `finalPath`: `.<name>.<pid>-<random>.partial`. Hidden (leading dot) so
 * file pickers and globs for `*.gguf` or `*.safetensors` never match it.
 */
export function tempPathFor(finalPath: string): string {
  const dir = path.dirname(finalPath);
  const base = path.basename(finalPath);
  return path.join(dir, `.${base}.${process.pid}-${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`);
}

/** True when `p` is a name made by tempPathFor (a leftover of an interrupted write if no writer runs). */
export function isTempPath(p: string): boolean {
  return TEMP_NAME.test(path.basename(p));
}

/**
 * Deletes leftovers of interrupted writes in `dir`: temporary names whose writing process is gone
 * (a killed run). Names of live processes are left alone, so two runs never delete each other's work.
 */
export async function removeStaleTemps(dir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await fsp.readdir(dir).catch(() => [] as string[])) {
    const match = TEMP_NAME.exec(name);
    if (!match || isProcessAlive(Number(match[1]))) continue;
    await fsp.rm(path.join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

/** Whether a process with this pid runs on this host (EPERM: it does, under another user). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface AtomicOptions {
  /** Checked after `fn` completes: a cancel that arrives while writing discards the output. */
  signal?: AbortSignal;
}

/**
 * Runs `fn(tmpPath)`, which must create the file at tmpPath, then renames it to `finalPath`
 * (replacing an existing file). When `fn` throws, or the signal fired, the temporary file is removed
 * and the error propagates.
 */
export async function writeAtomically<T>(finalPath: string, fn: (tmpPath: string) => Promise<T>, opts: AtomicOptions = {}): Promise<T> {
  const tmp = tempPathFor(finalPath);
  try {
    const result = await fn(tmp);
    throwIfCancelled(opts.signal);
    await fsp.rename(tmp, finalPath);
    return result;
  } catch (error) {
    await fsp.rm(tmp, { force: true });
    throw error;
  }
}

/**
 * Like writeAtomically for a folder (an MLX model folder): `fn` fills an empty temporary folder,
 * which then replaces `finalDir`. An existing `finalDir` is first moved aside under a temporary name
 * and deleted only after the new folder is in place, so at every moment either the old or the new
 * complete folder exists under the final name (except for the instant between the two renames).
 */
export async function writeDirectoryAtomically<T>(
  finalDir: string,
  fn: (tmpDir: string) => Promise<T>,
  opts: AtomicOptions = {},
): Promise<T> {
  const tmp = tempPathFor(finalDir);
  await fsp.mkdir(tmp);
  let result: T;
  try {
    result = await fn(tmp);
    throwIfCancelled(opts.signal);
  } catch (error) {
    await fsp.rm(tmp, { recursive: true, force: true });
    throw error;
  }
  await replaceDirectory(tmp, finalDir);
  return result;
}

async function replaceDirectory(tmp: string, finalDir: string): Promise<void> {
  const existing = await fsp.lstat(finalDir).catch(() => undefined);
  if (!existing) {
    await renameOrCleanUp(tmp, finalDir);
    return;
  }
  const aside = tempPathFor(finalDir);
  await fsp.rename(finalDir, aside).catch(async (error: unknown) => {
    await fsp.rm(tmp, { recursive: true, force: true });
    throw error;
  });
  try {
    await fsp.rename(tmp, finalDir);
  } catch (error) {
    await fsp.rename(aside, finalDir).catch(() => undefined);
    await fsp.rm(tmp, { recursive: true, force: true });
    throw error;
  }
  await fsp.rm(aside, { recursive: true, force: true });
}

async function renameOrCleanUp(tmp: string, finalPath: string): Promise<void> {
  try {
    await fsp.rename(tmp, finalPath);
  } catch (error) {
    await fsp.rm(tmp, { recursive: true, force: true });
    throw error;
  }
}

/**
 * An open temporary file for writers that stream over many calls (GgufWriter, SafetensorsWriter)
 * and so cannot use the callback form. `commit()` closes and renames; `abort()` closes and deletes.
 * Exactly one of them should be called; both are idempotent after the first.
 */
export class AtomicFile {
  private state: 'open' | 'committed' | 'aborted' = 'open';

  private constructor(
    readonly finalPath: string,
    readonly tempPath: string,
    readonly handle: FileHandle,
  ) {}

  /** Creates the temporary file (exclusively: never reuses another writer's file). */
  static async create(finalPath: string): Promise<AtomicFile> {
    const tempPath = tempPathFor(finalPath);
    const handle = await fsp.open(tempPath, 'wx');
    return new AtomicFile(finalPath, tempPath, handle);
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Closes the file and renames it to its final name. `sync` flushes it to disk first. */
  async commit(opts: { sync?: boolean } = {}): Promise<void> {
    if (this.state !== 'open') throw new InternalError(`${this.finalPath}: output already ${this.state}`);
    this.state = 'committed';
    try {
      if (opts.sync) await this.handle.sync();
      await this.handle.close();
      await fsp.rename(this.tempPath, this.finalPath);
    } catch (error) {
      await this.handle.close().catch(() => undefined);
      await fsp.rm(this.tempPath, { force: true });
      throw error;
    }
  }

  /** Closes and deletes the temporary file; a no-op after commit or a previous abort. */
  async abort(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'aborted';
    await this.handle.close().catch(() => undefined);
    await fsp.rm(this.tempPath, { force: true });
  }
}
