/** Quality validation: perplexity, KL divergence and top-1 agreement against F16, the gate, reports and the chart. */
export {
  evaluate,
  applyEvaluation,
  DEFAULT_EVAL_CTX,
  type EvaluateOptions,
  type EvaluateJobOptions,
  type EvaluationReport,
  type ArtifactEvaluation,
} from './evaluate';
export { evaluationJson, type EvaluationJson } from './report';
export { qualityChartSvg, niceTicks, seriesName, type ChartPoint, type ChartOptions } from './chart';
export { DEFAULT_GATE_THRESHOLD_PCT, gateVerdict, gateFailures, qualityGateError, type GateVerdict } from './gate';
export { runPerplexity, runPerplexityTool, MAX_TOOL_ATTEMPTS, type PerplexityResult, type ToolRunOptions } from './perplexity';
export { runKlDivergence, type KldResult } from './kld';
export {
  parsePerplexityOutput,
  parseKldOutput,
  type PerplexityOutput,
  type KldOutput,
  type KldStats,
  type KldChunkRow,
} from './perplexity-output';
export { kldBaseBytes, readKldBaseHeader, checkKldBaseFile, pplFromKldBase, type KldBaseHeader } from './kld-base';
export { planBaseChunks, DEFAULT_MAX_KLD_BASE_BYTES, type BaseChunkPlan } from './kld-cap';
export {
  defaultKldCacheDir,
  kldCacheKey,
  findKldBase,
  computeKldBase,
  type KldBaseEntry,
  type KldBaseMeta,
  type KldBaseRequest,
} from './kld-cache';
export { resolveEvalText, defaultEvalTextPath, DEFAULT_EVAL_TEXT, type EvalText } from './text';
export { countTokens } from './tokens';
export { mlxArtifactToGguf } from './mlx-gguf';
