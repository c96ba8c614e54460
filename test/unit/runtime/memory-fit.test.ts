import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ArchitectureInfo, LayerKind } from '../../../src/core/arch/types';
import {
  CONV_STATE_BYTES_PER_HIDDEN,
  RUNTIME_OVERHEAD_BYTES,
  SSM_STATE_BYTES_PER_HIDDEN,
  estimateKvCacheBytes,
  estimateMemory,
  estimateStateBytes,
  kvElementsPerToken,
  maxContextThatFits,
} from '../../../src/core/runtime/memory-fit';
import { llamaArch } from '../../fixtures/tensor-lists';

const GiB = 2 ** 30;
const KiB = 1024;

/** A dense model: layers, hidden, heads, KV heads (head dim = hidden / heads). */
const dense = (layers: number, hidden: number, heads: number, kvHeads: number, overrides: Partial<ArchitectureInfo> = {}) =>
  llamaArch({ layers, hidden, heads, kvHeads, ffn: hidden * 3, vocab: 32000 }, overrides);

const alternating = (layers: number, first: LayerKind, second: LayerKind): LayerKind[] =>
  Array.from({ length: layers }, (_, i) => (i % 2 === 0 ? first : second));

describe('KV cache per token', () => {
  const cases: { name: string; arch: ArchitectureInfo; elements: number; bytesPerToken: number }[] = [
    // Llama-2-7B: 32 layers x K+V x 32 heads x 128 dims x 2 bytes
    { name: 'MHA (Llama-2-7B shape)', arch: dense(32, 4096, 32, 32), elements: 2 * 32 * 128, bytesPerToken: 512 * KiB },
    // Llama-3-8B: 8 KV heads, a quarter of the MHA cache
    { name: 'GQA 4:1 (Llama-3-8B shape)', arch: dense(32, 4096, 32, 8), elements: 2 * 8 * 128, bytesPerToken: 128 * KiB },
    { name: 'MQA (one KV head)', arch: dense(32, 4096, 32, 1), elements: 2 * 128, bytesPerToken: 16 * KiB },
    {
      // DeepSeek-V2-Lite: one compressed row of kv_lora_rank 512 + rope dim 64, no V
      name: 'MLA (DeepSeek-V2-Lite shape)',
      arch: dense(27, 2048, 16, 16, {
        attention: 'mla',
        numKeyValueHeads: null,
        gqaRatio: null,
        headDim: 192,
        mla: { qLoraRank: null, kvLoraRank: 512, qkNopeHeadDim: 128, qkRopeHeadDim: 64, vHeadDim: 128 },
      }),
      elements: 576,
      bytesPerToken: 27 * 576 * 2,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(kvElementsPerToken(c.arch), c.elements);
      // A context of 256 cells (the padding unit) measures the per-token cost exactly.
      assert.equal(estimateKvCacheBytes(c.arch, { contextSize: 256 }), 256 * c.bytesPerToken);
    });
  }

  it('GQA 4:1 at 8192 tokens is 1 GiB, MHA 4 GiB', () => {
    assert.equal(estimateKvCacheBytes(dense(32, 4096, 32, 8), { contextSize: 8192 }), 1 * GiB);
    assert.equal(estimateKvCacheBytes(dense(32, 4096, 32, 32), { contextSize: 8192 }), 4 * GiB);
  });

  it('pads the context to 256 cells as llama.cpp does', () => {
    const arch = dense(2, 256, 4, 2);
    assert.equal(estimateKvCacheBytes(arch, { contextSize: 1000 }), estimateKvCacheBytes(arch, { contextSize: 1024 }));
    assert.ok(estimateKvCacheBytes(arch, { contextSize: 1025 }) > estimateKvCacheBytes(arch, { contextSize: 1024 }));
  });

  it('scales with the K/V element size (q8_0 cache)', () => {
    const arch = dense(32, 4096, 32, 8);
    assert.equal(
      estimateKvCacheBytes(arch, { contextSize: 4096, kvBytesPerElement: 1 }),
      estimateKvCacheBytes(arch, { contextSize: 4096 }) / 2,
    );
  });
});

describe('sliding-window layers', () => {
  // Gemma-2-9B shape: 42 layers alternating 4096-token windows and full attention, 8 KV heads x 256 dims.
  const gemma = dense(42, 3584, 16, 8, {
    headDim: 256,
    slidingWindow: 4096,
    attentionPattern: 'alternating',
    layerTypes: alternating(42, 'sliding_attention', 'full_attention'),
    contextLength: 8192,
  });
  const perCell = 2 * 8 * 256 * 2;

  it('keep window + ubatch cells, the full layers the whole context', () => {
    // 21 full layers x 8192 cells + 21 windowed layers x pad(4096 + 512) = 4608 cells
    assert.equal(estimateKvCacheBytes(gemma, { contextSize: 8192 }), 21 * 8192 * perCell + 21 * 4608 * perCell);
  });

  it('cost the same as full layers when the context is within the window', () => {
    assert.equal(estimateKvCacheBytes(gemma, { contextSize: 2048 }), 42 * 2048 * perCell);
  });

  it('save memory against the same model without a window', () => {
    const noWindow = { ...gemma, slidingWindow: null, layerTypes: alternating(42, 'full_attention', 'full_attention') };
    const windowed = estimateKvCacheBytes(gemma, { contextSize: 32768 });
    const full = estimateKvCacheBytes(noWindow, { contextSize: 32768 });
    assert.equal(full, 42 * 32768 * perCell);
    assert.ok(windowed < full * 0.6, `${windowed} vs ${full}`);
  });

  it('a smaller ubatch keeps fewer windowed cells', () => {
    assert.equal(estimateKvCacheBytes(gemma, { contextSize: 8192, ubatch: 256 }), 21 * 8192 * perCell + 21 * 4352 * perCell);
  });
});

describe('hybrid models', () => {
  // 8 layers: attention at 3 and 7, Mamba elsewhere (a Jamba-like 1:3 mix); hidden 1024, 4 KV heads x 64.
  const layerTypes: LayerKind[] = ['mamba', 'mamba', 'mamba', 'full_attention', 'mamba', 'mamba', 'mamba', 'full_attention'];
  const hybrid = dense(8, 1024, 16, 4, { family: 'hybrid', attentionPattern: 'hybrid', layerTypes });

  it('only attention layers have a KV cache', () => {
    assert.equal(estimateKvCacheBytes(hybrid, { contextSize: 4096 }), 2 * 4096 * (2 * 4 * 64 * 2));
  });

  it('SSM layers hold a constant state that does not grow with the context', () => {
    assert.equal(estimateStateBytes(hybrid), 6 * SSM_STATE_BYTES_PER_HIDDEN * 1024);
    const short = estimateMemory(hybrid, 1e9, { contextSize: 1024 });
    const long = estimateMemory(hybrid, 1e9, { contextSize: 8192 });
    assert.equal(long.stateBytes, short.stateBytes);
    assert.equal(long.totalBytes - short.totalBytes, long.kvCacheBytes - short.kvCacheBytes);
  });

  it('short convolutions and linear attention count as state, MLP-only layers as nothing', () => {
    const mixed = dense(4, 512, 8, 8, { layerTypes: ['short_conv', 'linear_attention', 'mlp_only', 'full_attention'] });
    assert.equal(estimateStateBytes(mixed), CONV_STATE_BYTES_PER_HIDDEN * 512 + SSM_STATE_BYTES_PER_HIDDEN * 512);
    assert.equal(estimateKvCacheBytes(mixed, { contextSize: 256 }), 256 * 2 * 8 * 64 * 2);
  });
});

describe('estimateMemory', () => {
  it('adds weights, KV cache, state, compute and overhead', () => {
    const arch = dense(32, 4096, 32, 8);
    const e = estimateMemory(arch, 4.5 * GiB, { contextSize: 8192 });
    assert.equal(e.weightsBytes, 4.5 * GiB);
    assert.equal(e.kvCacheBytes, 1 * GiB);
    assert.equal(e.stateBytes, 0);
    assert.equal(e.overheadBytes, RUNTIME_OVERHEAD_BYTES);
    assert.ok(e.computeBytes > 0 && e.computeBytes < 512 * 2 ** 20, `compute ${e.computeBytes}`);
    assert.equal(e.totalBytes, e.weightsBytes + e.kvCacheBytes + e.stateBytes + e.computeBytes + e.overheadBytes);
  });
});

describe('maxContextThatFits', () => {
  const arch = dense(32, 4096, 32, 8, { contextLength: 131072 });
  const weights = 4.5 * GiB;

  it('finds the largest multiple of 256 that fits', () => {
    const budget = 6 * GiB;
    const ctx = maxContextThatFits(arch, weights, budget);
    assert.ok(ctx > 0 && ctx % 256 === 0);
    assert.ok(estimateMemory(arch, weights, { contextSize: ctx }).totalBytes <= budget);
    assert.ok(estimateMemory(arch, weights, { contextSize: ctx + 256 }).totalBytes > budget);
  });

  it('is the trained length when everything fits, 0 when the weights alone do not', () => {
    assert.equal(maxContextThatFits(arch, weights, 64 * GiB), 131072);
    assert.equal(maxContextThatFits(arch, weights, 4 * GiB), 0);
  });
});
