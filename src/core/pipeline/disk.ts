/** Free-space check before writing: fail early, with the numbers, rather than halfway through. */
import { statfs } from 'node:fs/promises';
import { FailureError, type Remedy } from '../errors';
import { formatBytes } from '../units';

/** Headroom kept free beyond the estimate (file system metadata, logs, other writers). */
export const DISK_HEADROOM_FRACTION = 0.05;

export interface DiskNeed {
  what: string;
  bytes: number;
}

export type FreeSpace = (dir: string) => Promise<number>;

/** What the user can do when a folder is short of space: said in the message, offered as remedies. */
export interface FreeSpaceAdvice {
  advice: string;
  remedies: readonly Remedy[];
}

const OUTPUT_FOLDER_ADVICE: FreeSpaceAdvice = {
  advice: 'free some space or choose another output folder',
  remedies: [{ option: 'outDir' }],
};

export const freeSpace: FreeSpace = async (dir) => {
  const s = await statfs(dir);
  return Number(s.bavail) * Number(s.bsize);
};

export async function checkFreeSpace(
  dir: string,
  needs: readonly DiskNeed[],
  free: FreeSpace = freeSpace,
  where: FreeSpaceAdvice = OUTPUT_FOLDER_ADVICE,
): Promise<void> {
  const total = needs.reduce((n, d) => n + d.bytes, 0);
  if (total === 0) return;
  const required = Math.ceil(total * (1 + DISK_HEADROOM_FRACTION));
  const available = await free(dir);
  if (available >= required) return;
  const detail = needs
    .filter((d) => d.bytes > 0)
    .map((d) => `${d.what} ${formatBytes(d.bytes)}`)
    .join(', ');
  throw new FailureError(
    `not enough free disk space in ${dir}: ${formatBytes(required)} needed (${detail}, plus ${DISK_HEADROOM_FRACTION * 100}% ` +
      `headroom), ${formatBytes(available)} free (${formatBytes(required - available)} short); ${where.advice}`,
    { dir, required, available, remedies: where.remedies },
  );
}
