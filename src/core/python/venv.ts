/**
 * The managed Python environment for mlx_lm (chat with MLX models on Apple Silicon): a venv in a
 * storage folder (the extension's global storage; for the CLI the user cache dir) with a pinned
 * mlx-lm, and a record of what was installed. The venv is built under a temporary name and renamed
 * when pip and an import check succeeded, so a failed or cancelled install leaves nothing behind.
 * A venv's scripts carry their first path in shebangs, so everything runs as `<venv python> -m ...`.
 */
import { existsSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FailureError, UnsupportedError, throwIfCancelled } from '../errors';
import { writeDirectoryAtomically } from '../fs/atomic';
import { type JobOptions, noLog } from '../job';
import { llamaCacheRoot } from '../llamacpp/cache';
import { spawnCollect, type ProcessOutcome } from '../llamacpp/process';
import { findPython, type PythonInfo } from './find';
import { mlxPlatformSupport } from './platform';

/** The mlx-lm release the MLX writer's format was checked against (see notes/mlx-format.md). */
export const MLX_LM_REQUIREMENT = 'mlx-lm==0.32.2';
export const VENV_DIR_NAME = 'mlx-venv';
export const VENV_RECORD_FILE = 'pajamas-venv.json';
export const VENV_RECORD_SCHEMA = 1;
/** pip downloading mlx, transformers and their dependencies on a slow line. */
export const PIP_TIMEOUT_MS = 30 * 60_000;
export const VENV_CREATE_TIMEOUT_MS = 5 * 60_000;
/** Packages whose installed versions are recorded. */
const RECORDED_PACKAGES = ['mlx-lm', 'mlx', 'transformers'];

export interface MlxVenvRecord {
  schema: number;
  requirement: string;
  python: { base: string; version: string };
  /** Installed versions (null when not installed, e.g. mlx off macOS). */
  packages: Record<string, string | null>;
  platform: string;
  /** Installed with force on a platform where MLX does not run. */
  forced: boolean;
  createdAt: string;
}

export interface MlxVenv {
  dir: string;
  /** The venv's interpreter: run mlx_lm as `<python> -m mlx_lm ...`. */
  python: string;
  record: MlxVenvRecord;
}

export interface EnsureMlxVenvOptions extends JobOptions {
  /** Folder that holds the venv (extension global storage; CLI: defaultPythonStorageDir()). */
  storageDir: string;
  /** Interpreter to build it with (default: PAJAMAS_PYTHON, else the newest suitable on PATH). */
  python?: string;
  /** Install even where MLX does not run (lets users try, and tests exercise the install path). */
  force?: boolean;
  /** Replace an existing venv even if it matches. */
  reinstall?: boolean;
  requirement?: string;
  /** Extra pip arguments (e.g. --index-url, or --retries 0 in tests). */
  pipArgs?: string[];
  pipTimeoutMs?: number;
  env?: Record<string, string | undefined>;
}

type Env = Record<string, string | undefined>;

/** The CLI's storage folder: <user cache>/llama-pajamas/python. */
export function defaultPythonStorageDir(env: Env = process.env, home: string = os.homedir()): string {
  return path.join(llamaCacheRoot(env, home), 'python');
}

export function venvPython(dir: string, platform: NodeJS.Platform = process.platform): string {
  return platform === 'win32' ? path.join(dir, 'Scripts', 'python.exe') : path.join(dir, 'bin', 'python');
}

/** The installed venv, or null when there is none (or its record or interpreter is missing). */
export async function readMlxVenv(storageDir: string): Promise<MlxVenv | null> {
  const dir = path.join(storageDir, VENV_DIR_NAME);
  const python = venvPython(dir);
  try {
    const record = JSON.parse(await fsp.readFile(path.join(dir, VENV_RECORD_FILE), 'utf8')) as MlxVenvRecord;
    if (record.schema !== VENV_RECORD_SCHEMA || !existsSync(python)) return null;
    return { dir, python, record };
  } catch {
    return null;
  }
}

/**
 * The mlx_lm venv: the existing one when it has the wanted requirement, else a new one. Throws
 * UnsupportedError off Apple Silicon unless `force`; FailureError (pip's last lines and a hint)
 * when the venv cannot be created or pip fails, leaving no partial venv.
 */
export async function ensureMlxVenv(opts: EnsureMlxVenvOptions): Promise<MlxVenv> {
  const requirement = opts.requirement ?? MLX_LM_REQUIREMENT;
  const support = mlxPlatformSupport();
  if (!support.supported && !opts.force) throw new UnsupportedError(support.message, { platform: support.platform, alternative: 'gguf' });
  const existing = await readMlxVenv(opts.storageDir);
  if (existing && !opts.reinstall && existing.record.requirement === requirement) return existing;
  const log = opts.log ?? noLog;
  if (!support.supported) log(`warning: ${support.message}`);
  const base = await findPython({ python: opts.python, env: opts.env, signal: opts.signal });
  log(`Python ${base.version} (${base.executable}) -> ${path.join(opts.storageDir, VENV_DIR_NAME)}`);
  await fsp.mkdir(opts.storageDir, { recursive: true });
  const dir = path.join(opts.storageDir, VENV_DIR_NAME);
  const record = await writeDirectoryAtomically(
    dir,
    (tmp) => buildVenv(tmp, base, requirement, support.platform, !support.supported, opts),
    { signal: opts.signal },
  );
  return { dir, python: venvPython(dir), record };
}

async function buildVenv(
  tmp: string,
  base: PythonInfo,
  requirement: string,
  platform: string,
  forced: boolean,
  opts: EnsureMlxVenvOptions,
): Promise<MlxVenvRecord> {
  const step = (message: string, done: number) => opts.onProgress?.({ step: 'python', done, total: 4, unit: 'steps', message });
  step('creating the virtual environment', 0);
  const venvArgs = base.command === 'py' ? ['-3', '-m', 'venv', tmp] : ['-m', 'venv', tmp];
  const created = await spawnCollect(base.command, venvArgs, { signal: opts.signal, timeoutMs: VENV_CREATE_TIMEOUT_MS, env: opts.env });
  if (created.exitCode !== 0) throw venvError(base, created);
  throwIfCancelled(opts.signal);

  const python = venvPython(tmp);
  step(`installing ${requirement}`, 1);
  const pipArgs = [
    '-m',
    'pip',
    'install',
    '--disable-pip-version-check',
    '--no-input',
    '--progress-bar',
    'off',
    ...(opts.pipArgs ?? []),
    requirement,
  ];
  const pip = await spawnCollect(python, pipArgs, {
    signal: opts.signal,
    timeoutMs: opts.pipTimeoutMs ?? PIP_TIMEOUT_MS,
    env: { PIP_REQUIRE_VIRTUALENV: undefined, ...opts.env },
    onStdoutLine: (line) => pipProgress(line, (message) => step(message, 1), opts.log),
    onStderrLine: (line) => opts.log?.(line),
  });
  if (pip.exitCode !== 0 || pip.timedOut) throw pipError(requirement, pip);
  throwIfCancelled(opts.signal);

  step('checking the installation', 2);
  const packages = await installedVersions(python, opts);
  const check = await spawnCollect(python, ['-c', 'import mlx_lm'], {
    signal: opts.signal,
    timeoutMs: VENV_CREATE_TIMEOUT_MS,
    env: opts.env,
  });
  if (check.exitCode !== 0) {
    throw new FailureError(
      `${requirement} installed, but "import mlx_lm" fails${forced ? ` (MLX does not run on ${platform})` : ''}:\n${tail(check)}`,
      { packages },
    );
  }
  const record: MlxVenvRecord = {
    schema: VENV_RECORD_SCHEMA,
    requirement,
    python: { base: base.executable, version: base.version },
    packages,
    platform,
    forced,
    createdAt: new Date().toISOString(),
  };
  await fsp.writeFile(path.join(tmp, VENV_RECORD_FILE), `${JSON.stringify(record, null, 2)}\n`);
  step('done', 4);
  return record;
}

/** pip's lines that say what it is doing, as progress messages; everything goes to the log. */
function pipProgress(line: string, report: (message: string) => void, log?: (line: string) => void): void {
  log?.(line);
  const m = /^(Collecting|Downloading|Installing collected packages|Successfully installed)\b(.*)$/.exec(line.trim());
  if (m) report(`${m[1]}${m[2]}`.slice(0, 200));
}

async function installedVersions(python: string, opts: EnsureMlxVenvOptions): Promise<Record<string, string | null>> {
  const script = `import json, importlib.metadata as m
def v(p):
    try:
        return m.version(p)
    except m.PackageNotFoundError:
        return None
print(json.dumps({p: v(p) for p in ${JSON.stringify(RECORDED_PACKAGES)}}))`;
  const out = await spawnCollect(python, ['-c', script], { signal: opts.signal, timeoutMs: VENV_CREATE_TIMEOUT_MS, env: opts.env });
  if (out.exitCode !== 0) throw new FailureError(`cannot read the installed package versions:\n${tail(out)}`);
  return JSON.parse(out.stdout.trim().split('\n').pop()!) as Record<string, string | null>;
}

function tail(out: ProcessOutcome): string {
  const lines = out.spawnError ? [out.spawnError.message] : out.outputTail;
  return lines.map((l) => `  | ${l}`).join('\n');
}

function venvError(base: PythonInfo, out: ProcessOutcome): FailureError {
  const text = `${out.stdout}\n${out.stderr}`;
  const hint = /ensurepip|No module named venv/.test(text)
    ? " Python's venv module is missing: on Debian/Ubuntu install python3-venv (apt install python3-venv), or name another Python with " +
      'PAJAMAS_PYTHON.'
    : '';
  return new FailureError(`"${base.command} -m venv" failed (exit ${out.exitCode ?? out.signal}).${hint}\n${tail(out)}`, {
    python: base.executable,
  });
}

/** Connection failures pip reports when it cannot reach its index. */
const OFFLINE = new RegExp(
  [
    ...['NewConnectionError', 'Temporary failure in name resolution', 'Name or service not known', 'Network is unreachable'],
    ...['Failed to establish a new connection', 'ConnectTimeout', 'Read timed out', 'ProxyError', 'Max retries exceeded'],
    'nodename nor servname',
  ].join('|'),
);

function pipError(requirement: string, out: ProcessOutcome): FailureError {
  const text = `${out.stdout}\n${out.stderr}`;
  let why: string;
  if (out.timedOut) why = `pip did not finish within ${Math.round(out.durationMs / 60_000)} minutes`;
  else if (OFFLINE.test(text))
    why =
      'pip cannot reach the package index (offline, or blocked by a proxy or firewall?). Connect to the internet, or set PIP_INDEX_URL ' +
      'to a reachable index, and try again';
  else if (/from versions: none|No matching distribution/.test(text)) {
    why =
      `pip found no installable ${requirement}: the index is unreachable (offline?) or has no build of it for this Python and ` +
      `platform. Connect to the internet (or set PIP_INDEX_URL) and try again`;
  } else why = `pip exited with code ${out.exitCode}`;
  return new FailureError(`could not install ${requirement}: ${why}. Nothing was left behind.\n${tail(out)}`, {
    requirement,
    exitCode: out.exitCode,
  });
}
