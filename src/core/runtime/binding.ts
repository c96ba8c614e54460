/**
 * Which node-llama-cpp binding the model host loads. node-llama-cpp ships prebuilt binaries
 * (portable CPU variants, CUDA, Vulkan); Llama-Pajamas can also build the binding from the
 * llama.cpp source node-llama-cpp bundles, with the flags of the llama.cpp tools
 * (llamacpp/binding-build.ts), so run, chat and the tools are one llama.cpp build. That build
 * carries a small patch (llamacpp/binding-patches.ts) that lets a process evaluate on its own
 * thread; measured in the issue 14 note.
 *
 * node-llama-cpp loads its own builds from inside its package folder only; a binding kept in the
 * Llama-Pajamas cache goes through the loader it uses for local builds (`Llama._create`), an
 * internal API of the exactly pinned node-llama-cpp version (package.json). The runtime test
 * "loads the binding built from source" fails if a node-llama-cpp update changes it.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type LocalBindingStatus, localBindingStatus as cachedBindingStatus } from '../llamacpp/binding-build';
import type { Llama, LlamaLogger, NodeLlamaCpp } from './node-llama';

export interface BindingChoice {
  kind: 'prebuilt' | 'local';
  /** The llama-addon.node file, or a description of the prebuilt one. */
  path: string;
  /** Why the local build is not used, when it is not. */
  note?: string;
}

export type { LocalBindingStatus };

/** GPU backends node-llama-cpp has binaries for. */
export type GpuType = 'cuda' | 'vulkan' | 'metal';

export interface BindingInput {
  requested: 'auto' | 'cpu' | GpuType;
  /** GPU backends whose drivers node-llama-cpp finds here, its preferred first. */
  gpuTypes: readonly GpuType[];
  local: LocalBindingStatus;
  /** PAJAMAS_LLAMA_BINDING=prebuilt: measure or work around the local build. */
  forcePrebuilt: boolean;
}

export type BindingDecision =
  | { kind: 'local'; path: string; gpu: 'cuda' | false }
  /** `gpu` as getLlama takes it ('auto' lets node-llama-cpp try the GPUs it found, then the CPU). */
  | { kind: 'prebuilt'; gpu: 'auto' | 'cpu' | GpuType; note?: string };

/**
 * The local build runs when it was built for the device that will be used (the CPU, or CUDA when
 * the tools were built with it); everything else goes to node-llama-cpp's prebuilt binaries, which
 * cover CUDA, Vulkan and Metal. 'auto' means: a GPU when node-llama-cpp finds one, else the CPU.
 */
export function decideBinding(input: BindingInput): BindingDecision {
  const device = input.requested === 'auto' ? (input.gpuTypes[0] ?? 'cpu') : input.requested;
  const local = input.local;
  if (local.ready && !input.forcePrebuilt && (local.gpu || 'cpu') === device) return { kind: 'local', path: local.path, gpu: local.gpu };
  const gpu = input.requested === 'auto' && !input.gpuTypes.length ? 'cpu' : input.requested;
  const note = input.forcePrebuilt
    ? 'PAJAMAS_LLAMA_BINDING=prebuilt'
    : local.ready
      ? `the local build is for ${local.gpu || 'the CPU'}, not ${device}`
      : local.reason;
  return { kind: 'prebuilt', gpu, note };
}

/** The binding built from source for this machine's CPU, if there is a complete one. Never builds. */
export function localBindingStatus(): Promise<LocalBindingStatus> {
  return cachedBindingStatus();
}

interface LlamaInternals {
  _create(options: Record<string, unknown>): Promise<Llama>;
}

export async function loadLocalBinding(lib: NodeLlamaCpp, file: string, gpu: 'cuda' | false, logger: LlamaLogger): Promise<Llama> {
  const nodeLlamaDir = path.dirname(path.dirname(require.resolve('node-llama-cpp')));
  const { Llama } = (await import(pathToFileURL(path.join(nodeLlamaDir, 'dist', 'bindings', 'Llama.js')).href)) as {
    Llama: LlamaInternals;
  };
  const bindings: unknown = createRequire(file)(file);
  return Llama._create({
    bindings,
    bindingPath: file,
    buildType: 'localBuild',
    buildMetadata: {
      buildOptions: { customCmakeOptions: {}, gpu, llamaCpp: { repo: 'node-llama-cpp bundle', release: 'bundled' } },
    },
    logLevel: lib.LlamaLogLevel.warn,
    logger,
    // No cap: sessions pass their thread count explicitly.
    maxThreads: 0,
    vramPadding: 0,
    ramPadding: (total: number) => Math.floor(Math.min(total * 0.25, 2 ** 30)),
  });
}
