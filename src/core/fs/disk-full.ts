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
  /** The file being written, or the output folder of a multi-file job. */
  target: string;
  /** What the whole write needs, when known. */
  neededBytes?: number;
  /** Filled in from the file system when omitted. */
  freeBytes?: number;
}

export async function diskFullError(cause: unknown, c: DiskFullContext): Promise<FailureError> {
  const dir = await existingFolder(c.target);
  const free =
    c.freeBytes ??
    (await statfs(dir).then(
      (s) => Number(s.bavail) * Number(s.bsize),
      () => undefined,
    ));
  const needs = c.neededBytes !== undefined ? `it needs about ${formatBytes(c.neededBytes)}` : 'it needs more space';
  const has = free !== undefined ? `, ${formatBytes(free)} free in ${dir}` : '';
  return new FailureError(
    `no space left on the device writing ${c.target}: ${needs}${has}. Free some space or write elsewhere; nothing half-written was kept`,
    { path: c.target, dir, neededBytes: c.neededBytes, freeBytes: free },
    { cause },
  );
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
