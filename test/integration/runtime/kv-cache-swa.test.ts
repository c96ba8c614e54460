/**
 * The memory fit's KV-cache estimate against what llama.cpp actually allocates for gpt-oss, whose
 * sliding-window layers keep only window + micro-batch cells: node-llama-cpp's llama.cpp logs the
 * two caches it creates (non-SWA and SWA, cells and layers each), and the estimate must equal them
 * exactly, at contexts shorter and longer than the window's cache.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { detectArchitecture } from '../../../src/core/arch/detect';
import { convertToGguf } from '../../../src/core/convert';
import { estimateKvCacheBytes, kvElementsPerToken } from '../../../src/core/runtime/memory-fit';
import { buildTinyModel } from '../../fixtures/models/tiny-models';

const UBATCH = 512;

interface CacheLine {
  cells: number;
  layers: number;
}

/** llama.cpp's log lines since the last reset (one llama instance: its logger is set once). */
const log: string[] = [];
type NodeLlamaCpp = typeof import('node-llama-cpp', { with: { 'resolution-mode': 'import' } });
type Llama = Awaited<ReturnType<NodeLlamaCpp['getLlama']>>;
let llamaPromise: Promise<Llama> | undefined;

function debugLlama(): Promise<Llama> {
  llamaPromise ??= import('node-llama-cpp').then((nlc) =>
    nlc.getLlama({ gpu: false, build: 'never', logLevel: nlc.LlamaLogLevel.debug, logger: (_level, message) => log.push(message) }),
  );
  return llamaPromise;
}

/** The KV caches llama.cpp creates for one context, from its log. */
async function allocatedCaches(modelPath: string, contextSize: number): Promise<CacheLine[]> {
  const llama = await debugLlama();
  const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
  log.length = 0;
  try {
    const context = await model.createContext({ contextSize, batchSize: UBATCH, flashAttention: false });
    await context.dispose();
  } finally {
    await model.dispose();
  }
  const sizes = /llama_kv_cache: size = .*\(\s*(\d+) cells,\s*(\d+) layers/;
  return log.flatMap((l) => {
    const m = sizes.exec(l);
    return m ? [{ cells: Number(m[1]), layers: Number(m[2]) }] : [];
  });
}

for (const [label, layerTypes] of [
  ['alternating sliding/full layers', undefined],
  ['two sliding layers, then a full one', ['sliding_attention', 'sliding_attention', 'full_attention', 'sliding_attention']],
] as const) {
  test(`gpt-oss KV cache (${label}): the estimate equals llama.cpp's allocation`, async (t) => {
    const m = buildTinyModel('gpt_oss', { seed: 2, config: layerTypes ? { layer_types: layerTypes } : {} });
    t.after(() => rmSync(m.dir, { recursive: true, force: true }));
    if (layerTypes) writeFileSync(path.join(m.dir, 'config.json'), JSON.stringify(m.config));
    const gguf = path.join(m.dir, 'model.gguf');
    await convertToGguf(m.dir, { outPath: gguf, outType: 'f16' });
    const arch = await detectArchitecture(gguf);
    const perCell = kvElementsPerToken(arch) * 2; // F16 K and V
    for (const contextSize of [256, 2048, 8192]) {
      const caches = await allocatedCaches(gguf, contextSize);
      assert.ok(caches.length >= 1, `llama.cpp logged no KV cache for context ${contextSize}`);
      const allocated = caches.reduce((n, c) => n + c.cells * c.layers * perCell, 0);
      const estimated = estimateKvCacheBytes(arch, { contextSize, ubatch: UBATCH });
      t.diagnostic(`context ${contextSize}: llama.cpp ${JSON.stringify(caches)} = ${allocated} B, estimate ${estimated} B`);
      assert.equal(estimated, allocated, `context ${contextSize}`);
      if (!layerTypes && contextSize === 8192) {
        // The window bounds the sliding layers: half the layers hold window + ubatch cells, not 8192.
        assert.deepEqual(
          caches.map((c) => c.cells).sort((a, b) => a - b),
          [768, 8192],
        );
      }
    }
  });
}
