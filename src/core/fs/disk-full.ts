/**
 * A write that runs out of space (ENOSPC, or EDQUOT on a quota) reported as what it is: which file
 * or folder, how much the work needs, how much is free. Node's own message ("no space left on
 * device, write") names neither; llama.cpp's tools say "No space left on device" on stderr.
 */
import { statfs } from 'node:fs/promises';
import path from 'node:path';
import { FailureError, ToolError } from '../errors';
import { formatBytes } from '../units';

const DISK_FULL_CODES = new Set(['ENOSPC', 'EDQUOT']);
const TOOL_DISK_FULL = /no space left on device|disk quota exceeded/i;

/** True for ENOSPC/EDQUOT anywhere in the cause chain, or a tool that said so. */
export function isDiskFull(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (DISK_FULL_CODES.has((e as NodeJS.ErrnoException).code ?? '')) return true;
    if (e instanceof ToolError && e.stderrTail.some((l) => TOOL_DISK_FULL.test(l))) return true;
  }
  return false;
}

export interface DiskFullContext {
  /** The folder being written into. */
  folder: string;
  /** The file whose write failed, when known (otherwise taken from the error, if it says). */
  file?: string;
  /** What the whole write needs, when known. */
  neededBytes?: number;
}

/** A FailureError naming the folder, the file, what the work needs and what is free. */
export async function diskFullError(cause: unknown, c: DiskFullContext): Promise<FailureError> {
  const file = c.file ?? failedFile(cause);
  const dir = await existingFolder(c.folder);
  const free = await statfs(dir).then(
    (s) => Number(s.bavail) * Number(s.bsize),
    () => undefined,
  );
  const writing = file && path.resolve(file) !== path.resolve(c.folder) ? ` (writing ${path.basename(file)})` : '';
  const needs = c.neededBytes !== undefined ? `this needs about ${formatBytes(c.neededBytes)}` : 'this needs more space';
  const has = free !== undefined ? `, ${formatBytes(free)} are free` : '';
  return new FailureError(
    `no space left on the device in ${c.folder}${writing}: ${needs}${has}. Free some space or write elsewhere; nothing ` +
      `half-written was kept`,
    { path: file ?? c.folder, dir: c.folder, neededBytes: c.neededBytes, freeBytes: free },
    { cause },
  );
}

/** The file a disk-full error names (one of ours, or a Node error with a path). */
function failedFile(error: unknown): string | undefined {
  for (let e = error, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const p = (e as { path?: unknown; data?: { path?: unknown } }).data?.path ?? (e as { path?: unknown }).path;
    if (typeof p === 'string') return p;
  }
  return undefined;
}

async function existingFolder(target: string): Promise<string> {
  let dir = path.resolve(target);
  for (;;) {
    const ok = await statfs(dir).then(
      () => true,
      () => false,
    );
    if (ok || path.dirname(dir) === dir) return dir;
    dir = path.dirname(dir);
  }
}
