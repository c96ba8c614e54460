/** Free-space check before writing: fail early, with the numbers, rather than halfway through. */
import { statfs } from 'node:fs/promises';
import { FailureError } from '../errors';
import { formatBytes } from '../units';

/** Headroom kept free beyond the estimate (file system metadata, logs, other writers). */
export const DISK_HEADROOM_FRACTION = 0.05;

export interface DiskNeed {
  what: string;
  bytes: number;
}

export type FreeSpace = (dir: string) => Promise<number>;

export const freeSpace: FreeSpace = async (dir) => {
  const s = await statfs(dir);
  return Number(s.bavail) * Number(s.bsize);
};

export async function checkFreeSpace(
  dir: string,
  needs: readonly DiskNeed[],
  free: FreeSpace = freeSpace,
  advice = 'free some space or choose another --out folder',
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
    `not enough free disk space in ${dir}: ${formatBytes(required)} needed (${detail}, plus ${DISK_HEADROOM_FRACTION * 100}% headroom), ${formatBytes(available)} free (${formatBytes(required - available)} short); ${advice}`,
    { dir, required, available },
  );
}
