/**
 * Which binding the model host loads: the local build (node-llama-cpp's source built with the
 * tools' flags) when it was built for the device that will run, else node-llama-cpp's prebuilt
 * binaries; 'auto' picks a GPU when node-llama-cpp finds a driver for one, without being told.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type BindingInput, decideBinding } from '../../../src/core/runtime/binding';

const cpuBuild = { ready: true as const, path: '/cache/binding/llama-addon.node', gpu: false as const };
const cudaBuild = { ready: true as const, path: '/cache/binding/llama-addon.node', gpu: 'cuda' as const };
const notBuilt = { ready: false as const, reason: 'not built (run "npm run build:llama")' };
const input = (over: Partial<BindingInput>): BindingInput => ({
  requested: 'auto',
  gpuTypes: [],
  local: cpuBuild,
  forcePrebuilt: false,
  ...over,
});

describe('decideBinding', () => {
  it('no GPU: the local CPU build, else the prebuilt CPU binaries with the reason', () => {
    assert.deepEqual(decideBinding(input({})), { kind: 'local', path: cpuBuild.path, gpu: false });
    assert.deepEqual(decideBinding(input({ requested: 'cpu' })), { kind: 'local', path: cpuBuild.path, gpu: false });
    assert.deepEqual(decideBinding(input({ local: notBuilt })), { kind: 'prebuilt', gpu: 'cpu', note: notBuilt.reason });
  });

  it('auto with an NVIDIA driver picks CUDA without being told: the local CUDA build, else the prebuilt ones', () => {
    assert.deepEqual(decideBinding(input({ gpuTypes: ['cuda', 'vulkan'], local: cudaBuild })), {
      kind: 'local',
      path: cudaBuild.path,
      gpu: 'cuda',
    });
    const prebuilt = decideBinding(input({ gpuTypes: ['cuda', 'vulkan'] }));
    assert.equal(prebuilt.kind, 'prebuilt');
    assert.equal(prebuilt.kind === 'prebuilt' && prebuilt.gpu, 'auto');
    assert.match(prebuilt.kind === 'prebuilt' ? prebuilt.note! : '', /local build is for the CPU, not cuda/);
  });

  it('a named GPU gets the prebuilt binaries unless the local build is for it; --gpu cpu never runs a CUDA build', () => {
    assert.deepEqual(decideBinding(input({ requested: 'vulkan', local: cudaBuild })).kind, 'prebuilt');
    assert.deepEqual(decideBinding(input({ requested: 'cuda', local: cudaBuild })).kind, 'local');
    const cpu = decideBinding(input({ requested: 'cpu', local: cudaBuild }));
    assert.equal(cpu.kind === 'prebuilt' && cpu.gpu, 'cpu');
  });

  it('PAJAMAS_LLAMA_BINDING=prebuilt forces the prebuilt binaries', () => {
    const d = decideBinding(input({ forcePrebuilt: true }));
    assert.deepEqual(d, { kind: 'prebuilt', gpu: 'cpu', note: 'PAJAMAS_LLAMA_BINDING=prebuilt' });
  });
});
