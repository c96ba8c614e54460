/** The llama.cpp tools layer: locate, build and run llama-quantize, llama-imatrix, llama-perplexity... */
export { LLAMA_TOOLS, isLlamaToolName, toolFileName, type LlamaToolName, type LlamaTools, type LlamaToolsSource } from './tools';
export { ensureLlamaTools, locateLlamaTools, llamaToolsStatus, userBinDir, type LlamaToolsOptions, type LlamaToolsStatus } from './locate';
export { runLlamaTool, withThreads, defaultThreads, type RunLlamaToolOptions, type LlamaToolResult } from './run';
export { validateLlamaBinDir, parseLlamaVersion, probeTool, type LlamaVersion, type BinDirOptions } from './bin-dir';
export { spawnCollect, runProcess, killRunningChildren, type ProcessOptions, type ProcessOutcome } from './process';
export { checkBuildPrerequisites, installHint, type BuildPrerequisites } from './build';
export {
  llamaCacheRoot,
  resolveBuildSettings,
  buildFlavour,
  cacheLayout,
  cmakeFlags,
  type LlamaBuildSettings,
  type CacheLayout,
  type BuildMarker,
} from './cache';
export { findLlamaSource, type LlamaSource } from './source';
export { parseBuildProgress, type BuildStep } from './progress';
