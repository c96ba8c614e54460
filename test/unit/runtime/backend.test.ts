import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UnsupportedError, UsageError } from '../../../src/core/errors';
import { type BackendEnvironment, selectBackend } from '../../../src/core/runtime/backend';
import type { RuntimeArtifact, RuntimeTarget } from '../../../src/core/runtime/target';
import { llamaArch } from '../../fixtures/tensor-lists';

const artifact = (id: string, format: 'gguf' | 'mlx'): RuntimeArtifact => ({
  id,
  format,
  path: `/m/${id}`,
  sizeBytes: 1,
  bpw: 4.5,
  kldMean: null,
  gatePassed: null,
  target: null,
  files: [],
  entry: null,
});
const target = (...artifacts: RuntimeArtifact[]): RuntimeTarget => ({
  kind: 'manifest',
  path: '/m/manifest.json',
  model: 'm',
  architecture: llamaArch({ layers: 1, hidden: 64, heads: 4, kvHeads: 2, ffn: 128, vocab: 100 }),
  artifacts,
  manifest: null,
});
const gguf = artifact('m-Q4_K_M', 'gguf');
const mlx = artifact('m-mlx-4bit', 'mlx');
const mac: BackendEnvironment = { platform: 'darwin', arch: 'arm64', mlxPython: '/venv/bin/python' };
const macNoVenv: BackendEnvironment = { ...mac, mlxPython: null };
const intelMac: BackendEnvironment = { platform: 'darwin', arch: 'x64', mlxPython: '/venv/bin/python' };
const linux: BackendEnvironment = { platform: 'linux', arch: 'x64', mlxPython: null };

describe('selectBackend', () => {
  const table: { name: string; target: RuntimeTarget; env: BackendEnvironment; expected: 'gguf' | 'mlx'; reason: RegExp }[] = [
    { name: 'Apple Silicon + MLX artifact + venv -> MLX', target: target(gguf, mlx), env: mac, expected: 'mlx', reason: /Apple Silicon/ },
    { name: 'Apple Silicon without a venv -> GGUF', target: target(gguf, mlx), env: macNoVenv, expected: 'gguf', reason: /no mlx_lm venv/ },
    { name: 'Intel Mac -> GGUF', target: target(gguf, mlx), env: intelMac, expected: 'gguf', reason: /MLX runs only on Apple Silicon/ },
    { name: 'Linux -> GGUF', target: target(gguf, mlx), env: linux, expected: 'gguf', reason: /MLX runs only on Apple Silicon/ },
    { name: 'Apple Silicon, GGUF only -> GGUF', target: target(gguf), env: mac, expected: 'gguf', reason: /the only format available/ },
    { name: 'Apple Silicon, MLX only -> MLX', target: target(mlx), env: mac, expected: 'mlx', reason: /Apple Silicon/ },
  ];
  for (const c of table) {
    it(c.name, () => {
      const d = selectBackend(c.target, c.env);
      assert.equal(d.backend, c.expected);
      assert.match(d.reason, c.reason);
    });
  }

  it('a forced backend wins when the target has an artifact for it', () => {
    assert.equal(selectBackend(target(gguf, mlx), mac, { backend: 'gguf' }).backend, 'gguf');
    assert.equal(selectBackend(target(gguf, mlx), intelMac, { backend: 'mlx' }).backend, 'mlx');
    assert.equal(selectBackend(target(gguf, mlx), mac, { backend: 'auto' }).backend, 'mlx');
  });

  it('a named artifact decides by its format', () => {
    assert.equal(selectBackend(target(gguf, mlx), mac, { artifact: 'm-Q4_K_M' }).backend, 'gguf');
    assert.equal(selectBackend(target(gguf, mlx), mac, { artifact: 'm-mlx-4bit' }).backend, 'mlx');
  });

  it('impossible requests are explained', () => {
    assert.throws(
      () => selectBackend(target(gguf), mac, { backend: 'mlx' }),
      (e: unknown) => e instanceof UsageError && /has no MLX artifact/.test(e.message),
    );
    assert.throws(
      () => selectBackend(target(mlx), linux, { backend: 'gguf' }),
      (e: unknown) => e instanceof UsageError && /has no GGUF artifact/.test(e.message),
    );
    assert.throws(
      () => selectBackend(target(gguf, mlx), linux, { backend: 'mlx' }),
      (e: unknown) =>
        e instanceof UnsupportedError &&
        /needs a Python environment with mlx_lm \(and MLX runs only on Apple Silicon; this is linux-x64\)/.test(e.message),
    );
    assert.throws(
      () => selectBackend(target(gguf), mac, { artifact: 'x' }),
      (e: unknown) => e instanceof UsageError && /no artifact "x" .* it has m-Q4_K_M/.test(e.message),
    );
    assert.throws(
      () => selectBackend(target(gguf, mlx), mac, { artifact: 'm-Q4_K_M', backend: 'mlx' }),
      (e: unknown) => e instanceof UsageError && /is gguf, but the mlx backend was asked for/.test(e.message),
    );
    assert.throws(
      () => selectBackend(target(mlx), linux),
      (e: unknown) =>
        e instanceof UnsupportedError &&
        /only MLX artifacts, and MLX runs only on Apple Silicon \(this is linux-x64\); make a GGUF artifact too/.test(e.message),
    );
    assert.throws(
      () => selectBackend(target(mlx), macNoVenv),
      (e: unknown) => e instanceof UnsupportedError && /PAJAMAS_MLX_PYTHON/.test(e.message),
    );
  });
});
