/**
 * On a machine with an NVIDIA GPU: `run` uses it without being told, the memory fit counts its free
 * VRAM, and `bench` compares the runtime with llama-bench on the same GPU (the llama.cpp tools are
 * built with CUDA when a driver and nvcc are present). Elsewhere these tests skip with a message;
 * PAJAMAS_REQUIRE_GPU=1 turns the skip into a failure (a GPU CI runner).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { type TestContext, describe, it } from 'node:test';
import { hasNvidiaDriver } from '../../../src/core/llamacpp/cuda';
import { sharedAsset } from '../../helpers/env';
import { llamaToolsOrSkip } from '../../helpers/llama-tools';
import { pajamas } from './helpers';

const STORIES = 'models/stories260K-gguf/stories260K.gguf';

/** The GPU names nvidia-smi lists, or undefined after skipping the test. */
function nvidiaGpus(t: TestContext): string[] | undefined {
  const smi = hasNvidiaDriver() ? spawnSync('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader'], { encoding: 'utf8' }) : null;
  const names = smi?.status === 0 ? smi.stdout.split('\n').filter((l) => l.trim()) : [];
  if (names.length) return names;
  const message = 'needs an NVIDIA GPU (no NVIDIA driver, or nvidia-smi lists no GPU)';
  if (process.env.PAJAMAS_REQUIRE_GPU === '1') throw new Error(`${message}; PAJAMAS_REQUIRE_GPU=1 makes this a failure`);
  t.skip(message);
  return undefined;
}

describe('on an NVIDIA GPU', () => {
  it('run uses CUDA without being told, and the fit counts free VRAM', (t) => {
    const file = sharedAsset(t, STORIES);
    if (!file || !nvidiaGpus(t)) return;
    const r = pajamas(['run', file, '-p', 'Once upon a time', '--temperature', '0', '--max-tokens', '8', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { device: string }).device, 'cuda');
    assert.match(r.stderr, /free VRAM \+ .* free RAM; runs on the GPU/);
  });

  it('bench reports GPU figures against llama-bench on the same GPU', async (t) => {
    const file = sharedAsset(t, STORIES);
    if (!file || !nvidiaGpus(t) || !(await llamaToolsOrSkip(t))) return;
    const r = pajamas(['bench', file, '-p', '64', '-n', '16', '-r', '2', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { device: string; gpuNames: string[]; llamaBenchBackends: string; warnings: string[] };
    assert.equal(doc.device, 'cuda');
    assert.ok(doc.gpuNames.length > 0);
    assert.match(doc.llamaBenchBackends, /CUDA/i, 'the llama.cpp tools were built with CUDA');
    assert.deepEqual(doc.warnings, []);
  });
});
