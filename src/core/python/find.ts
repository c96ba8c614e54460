/**
 * Finding a Python interpreter for the managed mlx_lm environment: an explicit one (option, then
 * PAJAMAS_PYTHON), else the newest of the usual names on PATH that is at least MIN_PYTHON.
 */
import { FailureError, UnsupportedError } from '../errors';
import { spawnCollect } from '../llamacpp/process';

export const MIN_PYTHON: readonly [number, number] = [3, 10];
/** Probing an interpreter only prints its version; anything slower is not a working Python. */
export const PYTHON_PROBE_TIMEOUT_MS = 20_000;

export interface PythonInfo {
  /** What was run (a name on PATH or a path). */
  command: string;
  /** sys.executable */
  executable: string;
  version: string;
  major: number;
  minor: number;
}

type Env = Record<string, string | undefined>;

/** Names tried in order; the newest suitable version wins, ties go to the earlier name. */
export function pythonCandidates(platform: NodeJS.Platform = process.platform): string[] {
  const versioned = ['python3.13', 'python3.12', 'python3.11', 'python3.10'];
  return platform === 'win32' ? ['python', 'python3', 'py'] : [...versioned, 'python3', 'python'];
}

const PROBE_SCRIPT = 'import sys, json; print(json.dumps({"executable": sys.executable, "version": "%d.%d.%d" % sys.version_info[:3]}))';

/** Version and executable of `command`, or null when it does not run as a Python. */
export async function probePython(command: string, signal?: AbortSignal): Promise<PythonInfo | null> {
  const args = command === 'py' ? ['-3', '-c', PROBE_SCRIPT] : ['-c', PROBE_SCRIPT];
  const out = await spawnCollect(command, args, { signal, timeoutMs: PYTHON_PROBE_TIMEOUT_MS });
  if (out.exitCode !== 0) return null;
  try {
    const info = JSON.parse(out.stdout.trim().split('\n').pop() ?? '') as { executable: string; version: string };
    const [major, minor] = info.version.split('.').map(Number);
    if (!Number.isInteger(major) || !Number.isInteger(minor)) return null;
    return { command, executable: info.executable || command, version: info.version, major: major!, minor: minor! };
  } catch {
    return null;
  }
}

export function isSupportedPython(p: Pick<PythonInfo, 'major' | 'minor'>): boolean {
  return p.major > MIN_PYTHON[0] || (p.major === MIN_PYTHON[0] && p.minor >= MIN_PYTHON[1]);
}

const minText = `${MIN_PYTHON[0]}.${MIN_PYTHON[1]}`;

/**
 * The Python to build the environment with. An explicit choice (`python`, else PAJAMAS_PYTHON) must
 * work and be new enough; otherwise the newest suitable candidate on PATH.
 */
export async function findPython(
  opts: { python?: string; env?: Env; signal?: AbortSignal; candidates?: string[] } = {},
): Promise<PythonInfo> {
  const env = opts.env ?? process.env;
  const explicit = opts.python ?? env.PAJAMAS_PYTHON;
  if (explicit) {
    const info = await probePython(explicit, opts.signal);
    if (!info)
      throw new FailureError(`${explicit} does not run as Python; choose a Python ${minText} or newer (PAJAMAS_PYTHON names it)`, {
        python: explicit,
      });
    if (!isSupportedPython(info)) {
      throw new UnsupportedError(`${explicit} is Python ${info.version}; mlx-lm needs Python ${minText} or newer`, {
        python: explicit,
        version: info.version,
      });
    }
    return info;
  }
  const found: PythonInfo[] = [];
  for (const command of opts.candidates ?? pythonCandidates()) {
    const info = await probePython(command, opts.signal);
    if (info) found.push(info);
  }
  const usable = found.filter(isSupportedPython).sort((a, b) => b.major - a.major || b.minor - a.minor);
  if (usable[0]) return usable[0];
  const seen = found.length ? ` (found ${found.map((p) => `${p.command} ${p.version}`).join(', ')})` : '';
  throw new FailureError(
    `no Python ${minText} or newer on PATH${seen}; install one (macOS: brew install python@3.12) or name it with PAJAMAS_PYTHON`,
    {
      found: found.map((p) => ({ command: p.command, version: p.version })),
    },
  );
}
