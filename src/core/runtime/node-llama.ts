/**
 * node-llama-cpp inside the model host (model-host/server.ts), the only process that loads it.
 * It is ESM-only, so it comes in through a dynamic import (the CommonJS bundles keep `import()`
 * for it; see esbuild.mjs). Each Llama instance gets the log of the session that created it, so
 * nothing here is shared between sessions; llama.cpp's warnings reach it only with PAJAMAS_DEBUG.
 */
import { FailureError } from '../errors';
import type { Logger } from '../job';
import { type BindingChoice, decideBinding, loadLocalBinding, localBindingStatus } from './binding';
import type { DeviceInfo } from './model-host/protocol';

export type NodeLlamaCpp = typeof import('node-llama-cpp', { with: { 'resolution-mode': 'import' } });
export type Llama = Awaited<ReturnType<NodeLlamaCpp['getLlama']>>;

/** 'auto' lets node-llama-cpp pick CUDA, Vulkan or Metal when present, else the CPU. */
export type GpuChoice = 'auto' | 'cuda' | 'vulkan' | 'metal' | 'cpu';
export const GPU_CHOICES: readonly GpuChoice[] = ['auto', 'cuda', 'vulkan', 'metal', 'cpu'];

let modulePromise: Promise<NodeLlamaCpp> | undefined;

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

const PREBUILT = "node-llama-cpp's prebuilt binaries";

export interface CreateLlamaOptions {
  gpu: GpuChoice;
  log?: Logger;
}

export interface CreatedLlama {
  llama: Llama;
  binding: BindingChoice;
  /** llama.cpp's latest error lines (node-llama-cpp's own errors say only "Failed to load model"). */
  recentErrors: () => string[];
}

/**
 * A Llama instance for this process: the binding built from node-llama-cpp's bundled source with
 * the tools' flags when it fits the device (binding.ts decides), else node-llama-cpp's prebuilt
 * binaries, which cover CUDA, Vulkan, Metal and the CPU.
 */
export async function createLlama(opts: CreateLlamaOptions): Promise<CreatedLlama> {
  const lib = await loadNodeLlamaCpp();
  const errors: string[] = [];
  const logger = llamaLogger(lib, opts.log, errors);
  const recentErrors = () => errors.splice(0);
  const gpuTypes = opts.gpu === 'auto' ? (await lib.getLlamaGpuTypes('supported')).filter((t) => t !== false) : [];
  const decision = decideBinding({
    requested: opts.gpu,
    gpuTypes,
    local: await localBindingStatus(),
    forcePrebuilt: process.env.PAJAMAS_LLAMA_BINDING === 'prebuilt',
  });
  if (decision.kind === 'local') {
    try {
      const llama = await loadLocalBinding(lib, decision.path, decision.gpu, logger);
      return { llama, binding: { kind: 'local', path: decision.path }, recentErrors };
    } catch (error) {
      opts.log?.(`the llama.cpp binding built from source did not load (${(error as Error).message}); using the prebuilt one`);
    }
  }
  const llama = await getPrebuilt(lib, decision.kind === 'prebuilt' ? decision.gpu : opts.gpu, logger);
  const note = decision.kind === 'prebuilt' ? decision.note : 'the binding built from source did not load';
  return { llama, binding: { kind: 'prebuilt', path: PREBUILT, note }, recentErrors };
}

async function getPrebuilt(lib: NodeLlamaCpp, gpu: GpuChoice, logger: LlamaLogger): Promise<Llama> {
  try {
    return await lib.getLlama({
      gpu: gpu === 'cpu' ? false : gpu,
      // Never compile at run time: the prebuilt binaries cover the supported platforms.
      build: 'never',
      // No cap: sessions pass their thread count explicitly (the default cap oversubscribes small machines).
      maxThreads: 0,
      logLevel: lib.LlamaLogLevel.warn,
      logger,
    });
  } catch (error) {
    const what = gpu === 'auto' ? 'any backend' : gpu === 'cpu' ? 'the CPU backend' : `the ${gpu} backend`;
    throw new FailureError(`node-llama-cpp could not load ${what}: ${(error as Error).message}`, { gpu }, { cause: error });
  }
}

export type LlamaLogger = (level: string, message: string) => void;

/** Error lines kept for the next failure's message. */
const RECENT_ERROR_LINES = 8;

function llamaLogger(lib: NodeLlamaCpp, log: Logger | undefined, errors: string[]): LlamaLogger {
  return (level, message) => {
    const line = message.trimEnd();
    if (level === lib.LlamaLogLevel.error || level === lib.LlamaLogLevel.fatal) {
      errors.push(line);
      if (errors.length > RECENT_ERROR_LINES) errors.shift();
    }
    // llama.cpp warns about harmless things (e.g. unset optional token ids) on every load.
    if (level === lib.LlamaLogLevel.warn && !process.env.PAJAMAS_DEBUG) return;
    log?.(`[llama.cpp ${level}] ${line}`);
  };
}

/** "cuda", "vulkan", "metal" or "cpu". */
export function deviceName(llama: Llama): string {
  return llama.gpu === false ? 'cpu' : llama.gpu;
}

/** What the parent needs to place a model: the device, its free memory, the CPU cores. */
export async function describeDevice(llama: Llama, binding: BindingChoice): Promise<DeviceInfo> {
  const base = { device: deviceName(llama), cpuMathCores: llama.cpuMathCores, binding };
  if (llama.gpu === false) return { ...base, gpuNames: [], vramTotalBytes: 0, vramFreeBytes: 0, unified: false };
  const vram = await llama.getVramState();
  return {
    ...base,
    gpuNames: await llama.getGpuDeviceNames(),
    vramTotalBytes: vram.total,
    vramFreeBytes: vram.free,
    unified: llama.gpu === 'metal' || vram.unifiedSize > 0,
  };
}
