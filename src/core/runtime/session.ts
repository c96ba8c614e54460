/**
 * openSession: manifest or GGUF in, a ready RuntimeSession out. Load and validate the target,
 * pick the backend, estimate memory and pick the artifact, check the artifact's files against the
 * manifest, then start the backend. `planSession` does all but the last two steps (no loading).
 */
import { defaultPythonStorageDir, readMlxVenv } from '../python';
import os from 'node:os';
import { FailureError, throwIfCancelled } from '../errors';
import { preflightGguf } from '../formats/gguf-preflight';
import type { JobOptions } from '../job';
import { type FitChoice, type MemoryBudget, chooseArtifact } from './artifact-choice';
import { type BackendDecision, type BackendEnvironment, selectBackend } from './backend';
import { canImportMlxLm, openMlxSession } from './mlx-session';
import { ModelHost } from './model-host/client';
import { openHostedSession } from './model-host/hosted-session';
import type { DeviceInfo } from './model-host/protocol';
import type { GpuChoice } from './node-llama';
import { type RuntimeArtifact, type RuntimeTarget, type VerifyMode, checkArtifactFiles, loadRuntimeTarget } from './target';
import type { BackendKind, RuntimeSession } from './types';

/** Context when none is asked for (or the model's trained length, when shorter). */
export const DEFAULT_CONTEXT_SIZE = 4096;

export interface OpenSessionOptions extends JobOptions {
  /** Artifact id (from the manifest) to run instead of the best that fits. */
  artifact?: string;
  backend?: BackendKind | 'auto';
  contextSize?: number;
  /** How artifact files are checked before loading (default 'full', remembered per file). */
  verify?: VerifyMode;
  /** Remembered-hash file; null: hash every time. */
  hashCacheFile?: string | null;
  systemPrompt?: string;
  /** GGUF backend: GPU choice, CPU threads, tokens per batch, flash attention. */
  gpu?: GpuChoice;
  threads?: number;
  batchSize?: number;
  flashAttention?: boolean | 'auto';
  /** MLX backend: the venv python; default PAJAMAS_MLX_PYTHON, then findMlxPython() (default: the managed venv). */
  mlxPython?: string;
  findMlxPython?: () => Promise<string | null>;
  /** Overrides for tests: the platform and the free memory. */
  environment?: Partial<Pick<BackendEnvironment, 'platform' | 'arch'>>;
  memoryBudget?: MemoryBudget;
}

export interface SessionPlan {
  target: RuntimeTarget;
  backend: BackendDecision;
  contextSize: number;
  budget: MemoryBudget;
  choice: FitChoice<RuntimeArtifact>;
  mlxPython: string | null;
}

async function resolveMlxPython(opts: OpenSessionOptions, needed: boolean): Promise<string | null> {
  if (!needed) return null;
  const find = opts.findMlxPython ?? managedVenvPython;
  const candidate = opts.mlxPython ?? process.env.PAJAMAS_MLX_PYTHON ?? (await find()) ?? null;
  return candidate && (await canImportMlxLm(candidate)) ? candidate : null;
}

/** The python of the managed mlx_lm venv (`src/core/python`), when one has been set up. */
async function managedVenvPython(): Promise<string | null> {
  return (await readMlxVenv(defaultPythonStorageDir()))?.python ?? null;
}

/**
 * Everything up to loading: target, backend, memory budget and the artifact choice. For GGUF the
 * budget counts the free VRAM of the GPU node-llama-cpp would use, which a short-lived model host
 * reports (node-llama-cpp is never loaded in this process).
 */
export async function planSession(input: string | RuntimeTarget, opts: OpenSessionOptions = {}): Promise<SessionPlan> {
  let host: ModelHost | undefined;
  try {
    return await planWith(input, opts, async () => {
      host = await ModelHost.start({ gpu: opts.gpu, log: opts.log, signal: opts.signal });
      return host.device;
    });
  } finally {
    await host?.close();
  }
}

async function planWith(input: string | RuntimeTarget, opts: OpenSessionOptions, device: () => Promise<DeviceInfo>): Promise<SessionPlan> {
  const target = typeof input === 'string' ? await loadRuntimeTarget(input, opts) : input;
  const platform = opts.environment?.platform ?? process.platform;
  const arch = opts.environment?.arch ?? process.arch;
  const hasMlx = target.artifacts.some((a) => a.format === 'mlx');
  const wantsMlx = opts.backend === 'mlx' || target.artifacts.find((a) => a.id === opts.artifact)?.format === 'mlx';
  const mlxPython = await resolveMlxPython(opts, hasMlx && (wantsMlx || (platform === 'darwin' && arch === 'arm64')));
  const backend = selectBackend(target, { platform, arch, mlxPython }, { backend: opts.backend, artifact: opts.artifact });
  const trained = target.architecture.contextLength;
  const contextSize = opts.contextSize ?? (trained > 0 ? Math.min(DEFAULT_CONTEXT_SIZE, trained) : DEFAULT_CONTEXT_SIZE);
  const budget = opts.memoryBudget ?? (await backendBudget(backend.backend, device));
  const candidates = target.artifacts.filter((a) => a.format === backend.backend);
  const choice = chooseArtifact(candidates, target.architecture, budget, {
    contextSize,
    artifactId: opts.artifact,
    ubatch: opts.batchSize,
  });
  return { target, backend, contextSize, budget, choice, mlxPython };
}

async function backendBudget(backend: BackendKind, device: () => Promise<DeviceInfo>): Promise<MemoryBudget> {
  if (backend === 'mlx') return { ramBytes: os.freemem(), vramBytes: os.freemem(), unified: true };
  const d = await device();
  return { ramBytes: os.freemem(), vramBytes: d.vramFreeBytes, unified: d.unified };
}

/**
 * Opens a session. A GGUF model loads in a model host (model-host/), a child process that owns
 * node-llama-cpp: the host tells the device and its free memory for the fit, then loads the chosen
 * artifact; a native abort there is an error here, and the host goes when the session closes.
 */
export async function openSession(input: string | RuntimeTarget, opts: OpenSessionOptions = {}): Promise<RuntimeSession> {
  let host: ModelHost | undefined;
  const startHost = async () => (host ??= await ModelHost.start({ gpu: opts.gpu, log: opts.log, signal: opts.signal }));
  try {
    const plan = await planWith(input, opts, async () => (await startHost()).device);
    const chosen = plan.choice.chosen;
    if (!chosen) throw new FailureError(plan.choice.explanation, { path: plan.target.path });
    opts.log?.(`${plan.backend.reason}; ${plan.choice.explanation}`);
    await checkArtifactFiles(plan.target, chosen.artifact, opts);
    throwIfCancelled(opts.signal);
    const common = {
      modelPath: chosen.artifact.path,
      artifactId: chosen.artifact.id,
      contextSize: plan.contextSize,
      fit: plan.choice.explanation,
      systemPrompt: opts.systemPrompt,
      signal: opts.signal,
      log: opts.log,
    };
    if (plan.backend.backend === 'mlx') {
      await host?.close();
      return await openMlxSession({ ...common, python: plan.mlxPython! });
    }
    // llama.cpp aborts on some malformed files: the project's own reader checks the file first, so
    // the error says what is wrong (the host would only report that it died).
    await preflightGguf(chosen.artifact.path, { signal: opts.signal });
    return await openHostedSession(await startHost(), {
      ...common,
      placement: chosen.placement,
      threads: opts.threads,
      batchSize: opts.batchSize,
      flashAttention: opts.flashAttention,
    });
  } catch (error) {
    await host?.close();
    throw error;
  }
}
