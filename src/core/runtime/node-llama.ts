/**
 * node-llama-cpp, loaded once per process. It is ESM-only, so it comes in through a dynamic
 * import (the CommonJS bundles keep `import()` for it; see esbuild.mjs). One Llama instance per GPU
 * choice: creating one loads the native backend and probes the GPUs, which takes about a second.
 * Its log lines go to whichever session last asked (never to stdout, which carries replies);
 * warnings only with PAJAMAS_DEBUG set.
 */
import os from 'node:os';
import { FailureError } from '../errors';
import type { Logger } from '../job';
import type { MemoryBudget } from './artifact-choice';

export type NodeLlamaCpp = typeof import('node-llama-cpp', { with: { 'resolution-mode': 'import' } });
export type Llama = Awaited<ReturnType<NodeLlamaCpp['getLlama']>>;

/**
 * How many libuv thread-pool threads a process running node-llama-cpp should have. node-llama-cpp
 * decodes and samples on libuv's pool; with the default 4 pool threads, generation with 2 CPU
 * threads ran at ~60% of llama-bench on a 2-core machine, and with 1 or 2 pool threads at ~95%
 * (1B Q4_K_M bench model: 33 vs 54 tokens/s; the same prebuilt libraries driven from C: 57). libuv
 * reads UV_THREADPOOL_SIZE once, when the pool first starts, so entry points that run models set
 * it before any asynchronous I/O (the CLI does, for run/chat/bench).
 */
export const RUNTIME_UV_THREADPOOL_SIZE = 2;

/** 'auto' lets node-llama-cpp pick CUDA, Vulkan or Metal when present, else the CPU. */
export type GpuChoice = 'auto' | 'cuda' | 'vulkan' | 'metal' | 'cpu';

let modulePromise: Promise<NodeLlamaCpp> | undefined;
const instances = new Map<GpuChoice, Promise<Llama>>();
let logSink: Logger | undefined;

export function loadNodeLlamaCpp(): Promise<NodeLlamaCpp> {
  modulePromise ??= import('node-llama-cpp').catch((error: unknown) => {
    modulePromise = undefined;
    throw new FailureError(
      `cannot load node-llama-cpp (${(error as Error).message}); reinstall the package's dependencies (npm ci)`,
      {},
      { cause: error },
    );
  });
  return modulePromise;
}

/** Where node-llama-cpp's (llama.cpp's) warnings go from now on. */
export function setLlamaLog(log: Logger | undefined): void {
  logSink = log;
}

export function getLlamaInstance(gpu: GpuChoice = 'auto'): Promise<Llama> {
  let instance = instances.get(gpu);
  if (!instance) {
    instance = createInstance(gpu);
    instances.set(gpu, instance);
    instance.catch(() => instances.delete(gpu));
  }
  return instance;
}

async function createInstance(gpu: GpuChoice): Promise<Llama> {
  const { getLlama, LlamaLogLevel } = await loadNodeLlamaCpp();
  try {
    return await getLlama({
      gpu: gpu === 'cpu' ? false : gpu,
      // Never compile at run time: the prebuilt binaries cover the supported platforms.
      build: 'never',
      // No cap: sessions pass their thread count explicitly (the default cap oversubscribes small machines).
      maxThreads: 0,
      logLevel: LlamaLogLevel.warn,
      logger: (level, message) => {
        // llama.cpp warns about harmless things (e.g. unset optional token ids) on every load.
        if (level === LlamaLogLevel.warn && !process.env.PAJAMAS_DEBUG) return;
        logSink?.(`[llama.cpp ${level}] ${message.trimEnd()}`);
      },
    });
  } catch (error) {
    const what = gpu === 'auto' ? 'any backend' : gpu === 'cpu' ? 'the CPU backend' : `the ${gpu} backend`;
    throw new FailureError(`node-llama-cpp could not load ${what}: ${(error as Error).message}`, { gpu }, { cause: error });
  }
}

/** "cuda", "vulkan", "metal" or "cpu". */
export function deviceName(llama: Llama): string {
  return llama.gpu === false ? 'cpu' : llama.gpu;
}

/** Free RAM (os.freemem is MemAvailable on Linux) and, with a GPU, its free VRAM as node-llama-cpp sees it. */
export async function llamaMemoryBudget(llama: Llama): Promise<MemoryBudget> {
  const ramBytes = os.freemem();
  if (llama.gpu === false) return { ramBytes, vramBytes: 0, unified: false };
  const vram = await llama.getVramState();
  return { ramBytes, vramBytes: vram.free, unified: llama.gpu === 'metal' || vram.unifiedSize > 0 };
}
