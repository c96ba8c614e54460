// code-server (= VS Code 1.100.3 server + web workbench) from the npm registry: installed once per
// machine into a cache folder keyed by version, started on loopback in its own process group with
// throwaway profile folders, and stopped by killing the whole group.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The last code-server whose postinstall accepts Node 20. */
export const CODE_SERVER_VERSION = '4.100.3';
/** What code-server 4.100.3's @vscode/ripgrep postinstall downloads (from GitHub, unreachable here). */
const RIPGREP_CACHE = { pkgVersion: '1.15.11', release: 'v13.0.0-10' };
const RIPGREP_TARGETS = { x64: 'x86_64-unknown-linux-musl', arm64: 'aarch64-unknown-linux-musl' };
export const INSTALL_TIMEOUT_MS = 15 * 60_000;
export const START_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 5_000;
/** code-server's output kept in memory for error messages (the whole log goes to its file). */
const OUTPUT_KEPT_CHARS = 20_000;

export function codeServerHome() {
  if (process.env.PAJAMAS_CODE_SERVER_DIR) return path.resolve(process.env.PAJAMAS_CODE_SERVER_DIR);
  const cache = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(cache, 'llama-pajamas', `code-server-${CODE_SERVER_VERSION}`);
}

const binIn = (home) => path.join(home, 'node_modules', '.bin', 'code-server');
/** Written last, after the installed server answered --version: a half install never counts. */
const markerIn = (home) => path.join(home, '.installed');

export function isInstalled(home = codeServerHome()) {
  return existsSync(markerIn(home)) && existsSync(binIn(home));
}

/**
 * The environment for npm and code-server: the user's npm settings stay, but not what `npm test`
 * adds about the project it runs (npm_config_local_prefix would point npm at the project).
 */
const NPM_RUN_VARS = /^(npm_config_local_prefix|npm_package_.*|npm_lifecycle_.*|npm_command|INIT_CWD)$/i;
function cleanEnv(extra) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!NPM_RUN_VARS.test(k)) env[k] = v;
  return { ...env, ...extra };
}

/** Lets @vscode/ripgrep's postinstall find its download in its cache: Debian's rg, repacked. */
function seedRipgrepCache(tmp) {
  const target = RIPGREP_TARGETS[process.arch];
  if (!target) throw new Error(`no ripgrep cache seed for ${process.arch}; code-server install would download from GitHub`);
  const rg = spawnSync('sh', ['-c', 'command -v rg'], { encoding: 'utf8' }).stdout.trim();
  const stage = path.join(tmp, 'rg-stage');
  const cacheDir = path.join(tmp, `vscode-ripgrep-cache-${RIPGREP_CACHE.pkgVersion}`);
  mkdirSync(stage, { recursive: true });
  mkdirSync(cacheDir, { recursive: true });
  copyFileSync(rg, path.join(stage, 'rg'));
  const tarball = path.join(cacheDir, `ripgrep-${RIPGREP_CACHE.release}-${target}.tar.gz`);
  const r = spawnSync('tar', ['czf', tarball, '-C', stage, 'rg'], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error("could not pack Debian's rg for the ripgrep cache");
}

function runLogged(cmd, args, opts, logFile, timeoutMs) {
  return new Promise((resolve, reject) => {
    const log = createWriteStream(logFile);
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    child.stdout.pipe(log);
    child.stderr.pipe(log);
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
      reject(new Error(`${cmd} ${args.join(' ')} timed out after ${timeoutMs / 1000}s`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      log.end(() => resolve({ code, signal }));
    });
  });
}

function tail(file, lines = 40) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** `code-server --version`'s version line; it writes a default config, so XDG_* point into `scratch`. */
function codeServerVersion(bin, scratch) {
  const xdg = path.join(scratch, 'version-check');
  const env = cleanEnv({ XDG_CONFIG_HOME: xdg, XDG_DATA_HOME: xdg, XDG_CACHE_HOME: xdg });
  const v = spawnSync(bin, ['--version'], { encoding: 'utf8', env, timeout: 60_000 });
  rmSync(xdg, { recursive: true, force: true });
  const line = v.stdout?.split('\n').find((l) => /^\d+\.\d+\.\d+ /.test(l));
  if (v.status !== 0 || !line) throw new Error(`the installed code-server does not run:\n${v.stdout}${v.stderr}`);
  return line;
}

/**
 * Installs code-server into `home` unless it is there. Installs into a temporary sibling folder
 * and renames it when complete, so an interrupted install leaves nothing that looks finished.
 */
export async function ensureCodeServer(log, home = codeServerHome()) {
  if (isInstalled(home)) return binIn(home);
  const staging = `${home}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  const tmp = path.join(staging, '.tmp');
  mkdirSync(tmp, { recursive: true });
  try {
    seedRipgrepCache(tmp);
    writeFileSync(path.join(staging, 'package.json'), '{"name":"pajamas-code-server","private":true}\n');
    log(`installing code-server@${CODE_SERVER_VERSION} into ${home} (once per machine, a few minutes)`);
    const env = cleanEnv({
      TMPDIR: tmp,
      npm_config_unsafe_perm: 'true',
      npm_config_yes: 'true',
      ...(existsSync('/usr/include/node/node.h') ? { npm_config_nodedir: '/usr' } : {}),
    });
    const logFile = path.join(staging, 'install.log');
    const args = ['install', '--no-audit', '--no-fund', '--loglevel=error', '--prefix', staging, `code-server@${CODE_SERVER_VERSION}`];
    const r = await runLogged('npm', args, { cwd: staging, env }, logFile, INSTALL_TIMEOUT_MS);
    if (r.code !== 0) throw new Error(`npm install code-server failed (${r.signal ?? `exit ${r.code}`}):\n${tail(logFile)}`);
    const version = codeServerVersion(binIn(staging), tmp);
    rmSync(tmp, { recursive: true, force: true });
    writeFileSync(markerIn(staging), `${version}\n`);
    if (isInstalled(home)) {
      // Another run finished its install first: keep that one, it may be in use.
      rmSync(staging, { recursive: true, force: true });
      return binIn(home);
    }
    rmSync(home, { recursive: true, force: true });
    mkdirSync(path.dirname(home), { recursive: true });
    renameSync(staging, home);
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
  return binIn(home);
}

/**
 * Starts code-server on a free loopback port with every profile folder under `scratch`.
 * Returns {url, stop, logFile}; `stop()` kills the whole process group (extension hosts, file
 * watchers and the pty host included: killing only the main pid leaves them running for hours).
 * `opts.env` is added to its environment; `opts.vsix` is installed into the fresh profile first.
 */
export async function startCodeServer(bin, scratch, opts = {}) {
  const dirs = Object.fromEntries(['ud', 'exts', 'config', 'data', 'cache', 'tmp'].map((d) => [d, path.join(scratch, d)]));
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  const configFile = path.join(scratch, 'config.yaml');
  writeFileSync(configFile, 'auth: none\n');
  const logFile = path.join(scratch, 'code-server.log');
  const out = createWriteStream(logFile);
  const args = [
    '--config',
    configFile,
    '--user-data-dir',
    dirs.ud,
    '--extensions-dir',
    dirs.exts,
    '--auth',
    'none',
    '--bind-addr',
    '127.0.0.1:0',
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--ignore-last-opened',
  ];
  const env = cleanEnv({
    XDG_CONFIG_HOME: dirs.config,
    XDG_DATA_HOME: dirs.data,
    XDG_CACHE_HOME: dirs.cache,
    TMPDIR: dirs.tmp,
    ...opts.env,
  });
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  if (opts.vsix) installExtension(bin, opts.vsix, dirs, env, out);
  // detached: its own session and process group (setsid), so stop() can kill every descendant.
  const child = spawn(bin, args, { env, cwd: opts.cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let exited = null;
  const onData = (chunk) => {
    out.write(chunk);
    output = (output + chunk.toString()).slice(-OUTPUT_KEPT_CHARS);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  child.on('exit', (code, signal) => {
    exited = { code, signal };
  });

  let stopping = false;
  /** Rejects if code-server exits before stop(): the tests race it so they fail fast, not by timeout. */
  const crashed = new Promise((_, reject) => {
    child.on('exit', (code, signal) => {
      if (!stopping) reject(new Error(`code-server exited during the tests (${signal ?? `exit ${code}`}); see its log`));
    });
  });
  crashed.catch(() => {}); // observed by whoever races it; never an unhandled rejection
  const killGroup = (signal) => {
    try {
      process.kill(-child.pid, signal);
    } catch {
      /* gone */
    }
  };
  // Last resort when the harness exits early (timeout, signal, error): first of the exit
  // handlers, so one that throws after it cannot keep code-server alive.
  const onExit = () => killGroup('SIGKILL');
  process.prependListener('exit', onExit);

  const stop = async () => {
    stopping = true;
    process.off('exit', onExit);
    killGroup('SIGTERM');
    const deadline = Date.now() + STOP_GRACE_MS;
    while (Date.now() < deadline && groupAlive(child.pid)) await sleep(100);
    killGroup('SIGKILL');
    out.end();
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  const fail = async (why) => {
    await stop();
    throw new Error(`code-server ${why} (a broken install? delete ${codeServerHome()} to reinstall):\n${output.slice(-3000)}`);
  };
  let port;
  while (!port) {
    if (exited) await fail(`exited (${exited.signal ?? `exit ${exited.code}`}) before listening`);
    if (Date.now() > deadline) await fail(`did not listen within ${START_TIMEOUT_MS / 1000}s`);
    port = /HTTP server listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(output)?.[1];
    if (!port) await sleep(100);
  }
  const url = `http://127.0.0.1:${port}`;
  while (!(await healthy(url))) {
    if (exited || Date.now() > deadline) await fail(`at ${url} is not healthy`);
    await sleep(200);
  }
  return { url, stop, crashed, logFile, pid: child.pid };
}

/** `code-server --install-extension` into the profile's extensions folder, as a user installs a VSIX. */
function installExtension(bin, vsix, dirs, env, out) {
  const args = ['--user-data-dir', dirs.ud, '--extensions-dir', dirs.exts, '--install-extension', vsix];
  const r = spawnSync(bin, args, { env, encoding: 'utf8', timeout: INSTALL_TIMEOUT_MS });
  out.write(`$ code-server ${args.join(' ')}\n${r.stdout ?? ''}${r.stderr ?? ''}\n`);
  if (r.status !== 0)
    throw new Error(`code-server --install-extension ${vsix} failed (${r.signal ?? `exit ${r.status}`}):\n${r.stdout}${r.stderr}`);
}

async function healthy(url) {
  try {
    const r = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
    return r.ok;
  } catch {
    return false;
  }
}

function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
