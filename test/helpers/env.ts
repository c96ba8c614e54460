/**
 * Test preconditions: assets from ../shared and OS tools. A missing precondition skips the test
 * with a message, except where it must not: under PAJAMAS_REQUIRE_SHARED=1 a missing ../shared
 * asset fails, and under CI=true a missing OS tool fails. A test never passes vacuously in CI.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';

export const projectRoot = path.resolve(__dirname, '..', '..');
export const sharedRoot = process.env.PAJAMAS_SHARED_DIR ?? path.resolve(projectRoot, '..', 'shared');

/** Absolute path of an asset under ../shared, or undefined after skipping the test. */
export function sharedAsset(t: TestContext, relative: string): string | undefined {
  const p = path.join(sharedRoot, relative);
  if (existsSync(p)) return p;
  const message = `needs ../shared/${relative}, which is not present (a fresh clone has no ../shared)`;
  if (process.env.PAJAMAS_REQUIRE_SHARED === '1') throw new Error(`${message}; PAJAMAS_REQUIRE_SHARED=1 makes this a failure`);
  t.skip(message);
  return undefined;
}

/** True when `command` runs; otherwise skips the test (fails under CI=true) and returns false. */
export function requireCommand(t: TestContext, command: string, installHint: string): boolean {
  const r = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  if (r.status === 0) return true;
  const message = `needs "${command}" (${installHint})`;
  if (process.env.CI === 'true') throw new Error(`${message}; CI=true makes this a failure`);
  t.skip(message);
  return false;
}
