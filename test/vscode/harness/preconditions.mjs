// What the VS Code harness needs from the OS. `npm test` never needs root: when something is
// missing the harness skips with the apt command to run (test/vscode/run.mjs fails under CI=true).
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

/** Debian packages that provide everything below; .ci/run installs them. */
export const APT_PACKAGES = ['chromium', 'ripgrep', 'libkrb5-dev', 'pkg-config', 'build-essential', 'python3'];

export function hasCommand(cmd) {
  return spawnSync('sh', ['-c', `command -v "${cmd}"`], { stdio: 'ignore' }).status === 0;
}

/** The browser that drives the workbench: PAJAMAS_CHROMIUM, else Debian's chromium. */
export function chromiumPath() {
  if (process.env.PAJAMAS_CHROMIUM) return process.env.PAJAMAS_CHROMIUM;
  if (existsSync('/usr/bin/chromium')) return '/usr/bin/chromium';
  const r = spawnSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : '/usr/bin/chromium';
}

/**
 * Returns the missing preconditions as human-readable lines ([] when all are there).
 * Building code-server (first run on a machine) needs a toolchain, Kerberos headers and ripgrep;
 * running it needs only the browser.
 */
export function missingPreconditions({ needInstall }) {
  const missing = [];
  const chromium = chromiumPath();
  if (!existsSync(chromium)) missing.push(`chromium (${chromium} not found)`);
  if (needInstall) {
    if (!hasCommand('rg')) missing.push("rg (ripgrep: seeds code-server's ripgrep download, which needs GitHub)");
    if (!existsSync('/usr/include/gssapi/gssapi.h')) missing.push("gssapi.h (libkrb5-dev: code-server's kerberos module)");
    for (const cmd of ['pkg-config', 'make', 'g++', 'python3']) {
      if (!hasCommand(cmd)) missing.push(`${cmd} (builds code-server's native modules)`);
    }
  }
  return missing;
}
