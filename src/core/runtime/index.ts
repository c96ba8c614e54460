/** The runtime: load a manifest or GGUF, pick backend and artifact, chat, benchmark. */
export { openSession, planSession, DEFAULT_CONTEXT_SIZE, type OpenSessionOptions, type SessionPlan } from './session';
export {
  loadRuntimeTarget,
  checkArtifactFiles,
  type RuntimeTarget,
  type RuntimeArtifact,
  type ArtifactFile,
  type VerifyMode,
  type CheckArtifactOptions,
} from './target';
export { selectBackend, isAppleSilicon, type BackendEnvironment, type BackendDecision, type BackendRequest } from './backend';
export {
  chooseArtifact,
  rankByQuality,
  placementFor,
  describeEstimate,
  type FitArtifact,
  type FitCandidate,
  type FitChoice,
  type MemoryBudget,
  type Placement,
} from './artifact-choice';
export {
  estimateMemory,
  estimateKvCacheBytes,
  estimateStateBytes,
  estimateComputeBytes,
  kvElementsPerToken,
  maxContextThatFits,
  type MemoryEstimate,
  type MemoryOptions,
} from './memory-fit';
export { benchRuntime, runLlamaBench, BENCH_DEFAULTS, type BenchOptions, type BenchReport, type BenchRound, type Speed } from './bench';
export { streamChatCompletion, streamTextCompletion, type OpenAiServer } from './openai-client';
export { startServerProcess, freeLoopbackPort, type ServerProcess, type ServerProcessOptions } from './server-process';
export { createServerSession } from './server-session';
export { canImportMlxLm, MLX_SERVER_MODULE } from './mlx-session';
export { GPU_CHOICES, type GpuChoice } from './node-llama';
export { ModelHost, MODEL_HOST_BUNDLE, type ModelHostOptions, type RequestOptions } from './model-host/client';
export type { DeviceInfo } from './model-host/protocol';
export { conversationSession, type StatelessModel } from './conversation';
export * from './types';
