/**
 * CUDA in the llama.cpp build: found from PATH, CUDA_PATH or CUDA_HOME; on only with an NVIDIA
 * driver unless PAJAMAS_LLAMA_CUDA=1; PAJAMAS_LLAMA_CUDA=0 turns it off; a CUDA build is another
 * flavour (its own cache folder) with GGML_CUDA on.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { buildFlavour, cmakeFlags, resolveBuildSettings } from '../../../src/core/llamacpp/cache';
import { cudaCompilerForBuild, findCudaCompiler } from '../../../src/core/llamacpp/cuda';
import { tempDir } from '../../fixtures/bytes';

function fakeNvcc(dir: string): string {
  mkdirSync(path.join(dir, 'bin'), { recursive: true });
  const nvcc = path.join(dir, 'bin', 'nvcc');
  writeFileSync(nvcc, '#!/bin/sh\n');
  chmodSync(nvcc, 0o755);
  return nvcc;
}

describe('CUDA detection for the llama.cpp build', () => {
  it('finds nvcc on PATH, then under CUDA_PATH or CUDA_HOME', (t) => {
    const dir = tempDir(t);
    const nvcc = fakeNvcc(dir);
    assert.equal(findCudaCompiler({ PATH: path.join(dir, 'bin') }, 'linux'), nvcc);
    assert.equal(findCudaCompiler({ PATH: '/nonexistent', CUDA_HOME: dir }, 'linux'), nvcc);
    assert.equal(findCudaCompiler({ PATH: '/nonexistent' }, 'linux'), null);
  });

  it('PAJAMAS_LLAMA_CUDA=1 asks for it without a driver, =0 turns it off', (t) => {
    const dir = tempDir(t);
    const nvcc = fakeNvcc(dir);
    const env = { PATH: path.join(dir, 'bin') };
    assert.equal(cudaCompilerForBuild({ ...env, PAJAMAS_LLAMA_CUDA: '1' }, 'linux'), nvcc);
    assert.equal(cudaCompilerForBuild({ ...env, PAJAMAS_LLAMA_CUDA: '0' }, 'linux'), null);
    assert.equal(cudaCompilerForBuild(env, 'darwin'), null, 'no NVIDIA driver on macOS');
  });

  it('a CUDA build is its own flavour with GGML_CUDA and the compiler named', () => {
    const cpu = resolveBuildSettings({ cudaCompiler: null }, {});
    const cuda = resolveBuildSettings({ cudaCompiler: '/usr/local/cuda/bin/nvcc' }, {});
    assert.equal(cpu.cudaCompiler, undefined);
    assert.match(buildFlavour(cuda), /^native-cuda-p/);
    assert.notEqual(buildFlavour(cuda), buildFlavour(cpu));
    assert.ok(cmakeFlags(cuda).includes('-DGGML_CUDA=ON'));
    assert.ok(cmakeFlags(cuda).includes('-DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc'));
    assert.ok(!cmakeFlags(cpu).some((f) => f.includes('CUDA')));
  });
});
