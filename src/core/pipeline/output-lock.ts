/**
 * One writer per output folder. Two quantize runs into the same folder (two terminals, the CLI and
 * the VS Code worker) would both do all the work and replace each other's manifest; the second one
 * instead waits for the first (saying who holds the folder) or, asked not to wait, refuses with a
 * clear message. The lock is a file in the folder holding the owner's pid and host (the llama.cpp
 * build lock's mechanism); a lock left by a killed process is taken over.
 */
import path from 'node:path';
import { FailureError } from '../errors';
import type { Logger } from '../job';
import { type LockOwner, type ReleaseLock, acquireLock } from '../llamacpp/lock';

/** The lock file's name inside an output folder. */
export const OUTPUT_LOCK_FILE = '.pajamas-output.lock';
/** How long a second run waits for the first before giving up (a large model's quantize takes hours). */
export const OUTPUT_LOCK_WAIT_LIMIT_MS = 24 * 60 * 60 * 1000;

export interface OutputLockOptions {
  signal?: AbortSignal;
  log?: Logger;
  /** false: refuse at once when another process writes into the folder. Default true (wait). */
  wait?: boolean;
  /** What the holder is doing, shown to whoever waits (default "quantize"). */
  purpose?: string;
  pollMs?: number;
}

function describeOwner(owner: LockOwner | null): string {
  if (!owner) return 'another process';
  return `process ${owner.pid} on ${owner.hostname} (${owner.purpose || 'quantize'}, since ${owner.startedAt})`;
}

/** Takes the folder's lock (waiting for another writer unless told not to); returns the release function. */
export async function lockOutputFolder(dir: string, opts: OutputLockOptions = {}): Promise<ReleaseLock> {
  const lockPath = path.join(dir, OUTPUT_LOCK_FILE);
  try {
    return await acquireLock(lockPath, {
      signal: opts.signal,
      wait: opts.wait ?? true,
      waitLimitMs: OUTPUT_LOCK_WAIT_LIMIT_MS,
      pollMs: opts.pollMs,
      purpose: opts.purpose ?? 'quantize',
      onWait: (owner) =>
        opts.log?.(`${dir} is being written by ${describeOwner(owner)}; waiting for it to finish (cancel to stop waiting)`),
    });
  } catch (error) {
    if (!(error instanceof FailureError)) throw error;
    const owner = (error.data.owner as LockOwner | null | undefined) ?? null;
    const verdict = opts.wait === false ? 'refusing to write into it at the same time' : 'gave up waiting';
    throw new FailureError(
      `${dir} is being written by ${describeOwner(owner)}; ${verdict}. Wait for that run to finish or choose another output folder ` +
        `(if no such run exists, delete ${lockPath})`,
      { dir, lock: lockPath, owner },
      { cause: error },
    );
  }
}
