/**
 * The managed mlx_lm venv with the real python3 of this machine: where MLX does not run it refuses
 * (and offers GGUF) unless forced; forced, it builds a venv and runs pip, which cannot reach its
 * index here, so the test checks the clear error and that no half-made venv is left behind.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { findPython, isSupportedPython, pythonCandidates } from '../../../src/core/python/find';
import { mlxPlatformSupport } from '../../../src/core/python/platform';
import {
  MLX_LM_REQUIREMENT,
  VENV_DIR_NAME,
  VENV_RECORD_FILE,
  defaultPythonStorageDir,
  ensureMlxVenv,
  readMlxVenv,
  venvPython,
} from '../../../src/core/python/venv';

let root: string;
before(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'pajamas-venv-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

/** True when python3 can create venvs (Debian needs python3-venv); skips (fails under CI=true) otherwise. */
function requireVenv(t: TestContext): boolean {
  const r = spawnSync('python3', ['-c', 'import venv, ensurepip'], { encoding: 'utf8' });
  if (r.status === 0) return true;
  const message = 'needs "python3 -m venv" (Debian/Ubuntu: apt install python3-venv)';
  if (process.env.CI === 'true') throw new Error(`${message}; CI=true makes this a failure`);
  t.skip(message);
  return false;
}

describe('MLX platform support', () => {
  it('is Apple Silicon macOS only, and says to use GGUF elsewhere', () => {
    assert.equal(mlxPlatformSupport('darwin', 'arm64').supported, true);
    for (const [p, a] of [
      ['linux', 'x64'],
      ['linux', 'arm64'],
      ['win32', 'x64'],
    ] as const) {
      const s = mlxPlatformSupport(p, a);
      assert.equal(s.supported, false);
      assert.match(s.message, /Apple Silicon/);
      assert.match(s.message, /GGUF/);
    }
  });
});

describe('findPython', () => {
  it('finds a Python >= 3.10 on PATH, the newest first', async (t) => {
    if (!requireVenv(t)) return;
    const p = await findPython({ env: {} });
    assert.ok(isSupportedPython(p), `${p.command} ${p.version}`);
    assert.ok(pythonCandidates('linux').indexOf('python3.13') < pythonCandidates('linux').indexOf('python3'));
  });

  it('says what is wrong with an explicit interpreter', async () => {
    await assert.rejects(findPython({ python: path.join(root, 'no-such-python') }), /does not run as Python/);
    await assert.rejects(findPython({ env: {}, candidates: ['no-such-python-1'] }), /no Python 3\.10 or newer on PATH/);
  });
});

describe('ensureMlxVenv', () => {
  it('refuses where MLX does not run, offering GGUF, and creates nothing', async (t) => {
    if (mlxPlatformSupport().supported) return t.skip('this machine runs MLX');
    const storageDir = path.join(root, 'refused');
    await assert.rejects(ensureMlxVenv({ storageDir }), (e: Error & { code?: string; data?: Record<string, unknown> }) => {
      return e.code === 'unsupported' && /GGUF/.test(e.message) && e.data?.alternative === 'gguf';
    });
    assert.throws(() => readdirSync(storageDir), /ENOENT/);
  });

  it('forced, builds a venv and runs pip; pip failing gives a clear error and leaves no venv', async (t) => {
    if (!requireVenv(t)) return;
    const storageDir = path.join(root, 'forced');
    const steps: string[] = [];
    const err = await ensureMlxVenv({
      storageDir,
      force: true,
      // This machine has no PyPI: fail fast instead of retrying. PIP_INDEX_URL points at nothing.
      pipArgs: ['--retries', '0', '--timeout', '5'],
      env: {
        PIP_INDEX_URL: 'http://127.0.0.1:9/simple',
        PIP_EXTRA_INDEX_URL: undefined,
        PIP_FIND_LINKS: undefined,
        PIP_NO_INDEX: undefined,
      },
      onProgress: (p) => steps.push(p.message ?? ''),
    }).then(
      () => null,
      (e: Error) => e,
    );
    assert.ok(err, 'pip cannot succeed without an index');
    assert.equal((err as Error & { code?: string }).code, 'failure');
    assert.match(err.message, new RegExp(`could not install ${MLX_LM_REQUIREMENT.replace(/[.]/g, '\\.')}`));
    assert.match(err.message, /index|offline/);
    assert.match(err.message, /Nothing was left behind/);
    assert.deepEqual(steps.slice(0, 2), ['creating the virtual environment', `installing ${MLX_LM_REQUIREMENT}`]);
    assert.deepEqual(readdirSync(storageDir), [], 'no venv, no temporary folder');
    assert.equal(await readMlxVenv(storageDir), null);
  });

  it('cancelled, leaves nothing behind', async (t) => {
    if (!requireVenv(t)) return;
    const storageDir = path.join(root, 'cancelled');
    const controller = new AbortController();
    await assert.rejects(
      ensureMlxVenv({ storageDir, force: true, signal: controller.signal, onProgress: () => controller.abort() }),
      (e: Error & { code?: string }) => e.code === 'cancelled',
    );
    assert.deepEqual(readdirSync(storageDir), []);
  });

  it('reuses a complete venv with the same requirement without running pip', async () => {
    const storageDir = path.join(root, 'existing');
    const dir = path.join(storageDir, VENV_DIR_NAME);
    mkdirSync(path.dirname(venvPython(dir)), { recursive: true });
    symlinkSync(process.execPath, venvPython(dir));
    const record = {
      schema: 1,
      requirement: MLX_LM_REQUIREMENT,
      python: { base: '/usr/bin/python3', version: '3.12.1' },
      packages: { 'mlx-lm': '0.32.2' },
      platform: 'macOS arm64',
      forced: false,
      createdAt: '2025-01-01T00:00:00Z',
    };
    writeFileSync(path.join(dir, VENV_RECORD_FILE), JSON.stringify(record));
    const venv = await ensureMlxVenv({ storageDir, force: true, python: '/nonexistent/python' });
    assert.equal(venv.python, venvPython(dir));
    assert.deepEqual(venv.record, record);
  });

  it('keeps the CLI venv in the user cache dir', () => {
    assert.equal(defaultPythonStorageDir({ XDG_CACHE_HOME: '/c' }, '/home/u'), path.join('/c', 'llama-pajamas', 'python'));
    assert.equal(defaultPythonStorageDir({}, '/home/u'), path.join('/home/u', '.cache', 'llama-pajamas', 'python'));
  });
});
