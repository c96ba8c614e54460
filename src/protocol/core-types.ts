/**
 * The core types that cross the wire (worker results, webview messages), re-exported so the
 * webviews can name them while importing only from src/protocol.
 */
export type { ArchitectureInfo } from '../core/arch/types';
export type { ErrorCode } from '../core/errors';
export type { Progress } from '../core/job';
export type { Artifact, Manifest } from '../core/manifest/types';
export type { OutputFormat } from '../core/pipeline/options';
export type { Recommendation } from '../core/plan/recommend';
export type { PlannedTensor, PlanStrategy, PlanTarget, QuantPlan } from '../core/plan/types';
