/**
 * A lock file so that two processes (two terminals, the CLI and the extension's worker) never
 * build into the same cache directory at once. The file is created exclusively and holds the
 * owner's pid and host; a lock whose owner is gone (same host, pid not alive) is taken over.
 */
import { open, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { CancelledError, FailureError, throwIfCancelled } from '../errors';
import { isProcessAlive } from '../fs/atomic';

/** How long a second process waits for another's build before giving up (a cold build is ~10 min on 2 cores). */
export const LOCK_WAIT_LIMIT_MS = 90 * 60 * 1000;
export const LOCK_POLL_MS = 1000;
/** An empty lock file younger than this is being written by its owner. */
const LOCK_WRITE_GRACE_MS = 10_000;
/** A lock from another host cannot be checked; after this long it is presumed abandoned. */
export const FOREIGN_LOCK_STALE_MS = 6 * 60 * 60 * 1000;

export interface LockOwner {
  pid: number;
  hostname: string;
  startedAt: string;
  purpose: string;
}

export interface LockOptions {
  signal?: AbortSignal;
  /** false: fail at once when another process holds the lock. Default true (wait). */
  wait?: boolean;
  waitLimitMs?: number;
  pollMs?: number;
  /** Called once when we start waiting, with the current owner. */
  onWait?: (owner: LockOwner | null) => void;
  purpose?: string;
}

export type ReleaseLock = () => Promise<void>;

export async function acquireLock(lockPath: string, opts: LockOptions = {}): Promise<ReleaseLock> {
  const started = Date.now();
  let announced = false;
  for (;;) {
    throwIfCancelled(opts.signal);
    const release = await tryCreate(lockPath, opts.purpose ?? 'build');
    if (release) return release;
    const owner = await readOwner(lockPath);
    if (await isStale(lockPath, owner)) {
      await rm(lockPath, { force: true });
      continue;
    }
    const who = owner ? `process ${owner.pid} on ${owner.hostname} (since ${owner.startedAt})` : 'another process';
    if (opts.wait === false) {
      throw new FailureError(
        `${lockPath} is held by ${who}: a build is already running; wait for it to finish, or delete the lock file if no build is running`,
        {
          lock: lockPath,
          owner,
        },
      );
    }
    if (Date.now() - started > (opts.waitLimitMs ?? LOCK_WAIT_LIMIT_MS)) {
      throw new FailureError(`gave up waiting for ${lockPath}, held by ${who}; delete the lock file if no build is running`, {
        lock: lockPath,
        owner,
      });
    }
    if (!announced) {
      announced = true;
      opts.onWait?.(owner);
    }
    try {
      await delay(opts.pollMs ?? LOCK_POLL_MS, undefined, { signal: opts.signal });
    } catch {
      throw new CancelledError();
    }
  }
}

async function tryCreate(lockPath: string, purpose: string): Promise<ReleaseLock | null> {
  let handle;
  try {
    handle = await open(lockPath, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return null;
    throw error;
  }
  const owner: LockOwner = { pid: process.pid, hostname: os.hostname(), startedAt: new Date().toISOString(), purpose };
  try {
    await handle.writeFile(JSON.stringify(owner));
  } finally {
    await handle.close();
  }
  return async () => {
    // Only remove the lock if it is still ours (a waiter may have judged it stale and taken it).
    const current = await readOwner(lockPath);
    if (current && current.pid === owner.pid && current.startedAt === owner.startedAt) await rm(lockPath, { force: true });
  };
}

export async function readOwner(lockPath: string): Promise<LockOwner | null> {
  try {
    const value = JSON.parse(await readFile(lockPath, 'utf8')) as Partial<LockOwner>;
    if (typeof value.pid !== 'number' || typeof value.hostname !== 'string') return null;
    return { pid: value.pid, hostname: value.hostname, startedAt: String(value.startedAt ?? ''), purpose: String(value.purpose ?? '') };
  } catch {
    return null;
  }
}

async function isStale(lockPath: string, owner: LockOwner | null): Promise<boolean> {
  let age: number;
  try {
    age = Date.now() - (await stat(lockPath)).mtimeMs;
  } catch {
    return false; // released meanwhile: the next try creates it
  }
  if (!owner) return age > LOCK_WRITE_GRACE_MS;
  if (owner.hostname !== os.hostname()) return age > FOREIGN_LOCK_STALE_MS;
  return !isProcessAlive(owner.pid);
}
