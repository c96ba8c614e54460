/**
 * The worker's protocol: every request and notification between the extension host (the client,
 * vscode-languageclient) and the worker (the language server in dist/server.js), declared once and
 * imported by both ends. Long requests carry a `jobId` chosen by the client; the worker reports
 * their progress and log lines under that id, and `pajamas/cancelJob` aborts the job's signal.
 * A cancelled or failed job rejects its request only after it has stopped and cleaned up.
 */
import { NotificationType, RequestType } from 'vscode-jsonrpc';
import type { ArchitectureInfo } from '../core/arch/types';
import type { Progress } from '../core/job';
import type { Manifest } from '../core/manifest/types';
import type { QuantizeRequest } from '../core/pipeline/options';
import type { TensorOrigin } from '../core/plan/load';
import type { Recommendation } from '../core/plan/recommend';
import type { PlanStrategy, PlanTarget, QuantPlan } from '../core/plan/types';
import type { EvaluationJson } from '../core/quality/report';
import type { WorkerErrorData } from './errors';
import type { ModelListing } from './models';

/** The `data` of every error response: see ./errors. */
export type { WorkerErrorData };

/** Parameters of a request that runs as a job (progress, log lines, cancel). */
export interface JobParams {
  /** Unique per client session; chosen by the client before sending. */
  jobId: string;
}

// ---- pajamas/detect -------------------------------------------------------------------------

export interface DetectParams {
  /** A model folder, config.json or .gguf file. */
  model: string;
}

export const DetectRequest = new RequestType<DetectParams, ArchitectureInfo, WorkerErrorData>('pajamas/detect');

// ---- pajamas/plan ---------------------------------------------------------------------------

export interface PlanParams {
  model: string;
  target: PlanTarget;
  strategy: PlanStrategy;
  mlxBits?: number;
  mlxGroupSize?: number;
}

export interface PlanResult {
  arch: ArchitectureInfo;
  plan: QuantPlan;
  /** Where the tensor list came from: the GGUF, the safetensors headers, or the config alone. */
  origin: TensorOrigin;
  recommendation: Recommendation;
  /** Time the worker took to read the headers and plan. */
  elapsedMs: number;
}

export const PlanRequest = new RequestType<PlanParams, PlanResult, WorkerErrorData>('pajamas/plan');

// ---- pajamas/quantize -----------------------------------------------------------------------

export interface QuantizeParams extends JobParams {
  request: QuantizeRequest;
}

export interface QuantizeResult {
  manifestPath: string;
  manifest: Manifest;
  /** Artifact paths (relative to the manifest) built by this run, and those reused unchanged. */
  built: string[];
  skipped: string[];
  /** Artifact ids that failed the quality gate (the manifest records the verdicts); null when none did. */
  gateFailures: string[] | null;
  /** The size-versus-KL-divergence chart (SVG text), when at least one artifact has a KLD. */
  chartSvg: string | null;
  totalMs: number;
}

export const QuantizeRequestType = new RequestType<QuantizeParams, QuantizeResult, WorkerErrorData>('pajamas/quantize');

// ---- pajamas/evaluate -----------------------------------------------------------------------

export interface EvaluateParams extends JobParams {
  /** A manifest.json, the folder holding one, or a .gguf file. */
  input: string;
  ctx?: number;
  maxChunks?: number;
  gateThresholdPct?: number;
  /** false: report the gate's verdicts without failing. */
  gate?: boolean;
  /** The evaluation text file (default: the project's own). */
  text?: string;
}

export const EvaluateRequest = new RequestType<EvaluateParams, EvaluationJson, WorkerErrorData>('pajamas/evaluate');

// ---- pajamas/verify -------------------------------------------------------------------------

export interface VerifyParams extends JobParams {
  /** A manifest.json or the folder holding one. */
  manifest: string;
  /** true: re-hash every file (slow on large models); false: schema, presence and sizes only. */
  hashes: boolean;
  /** Only these artifacts' files (by id); default every file the manifest lists. */
  artifacts?: string[];
}

export interface VerifyProblemItem {
  /** Artifact id, "baseline" or "calibration". */
  subject: string;
  file: string;
  message: string;
  /** Where the manifest names the file, as JSON pointer segments. */
  location: (string | number)[];
}

export interface VerifyResult {
  manifestPath: string;
  filesChecked: number;
  hashed: boolean;
  problems: VerifyProblemItem[];
}

export const VerifyRequest = new RequestType<VerifyParams, VerifyResult, WorkerErrorData>('pajamas/verify');

// ---- pajamas/listModels ---------------------------------------------------------------------

export interface ListModelsParams {
  /** Absolute paths of the workspace folders to search for models and artifacts. */
  workspaceFolders: string[];
  /** Also list the models in the Hugging Face cache. */
  hfCache: boolean;
}

export const ListModelsRequest = new RequestType<ListModelsParams, ModelListing, WorkerErrorData>('pajamas/listModels');

// ---- pajamas/workerInfo ---------------------------------------------------------------------

export interface RunningJob {
  jobId: string;
  method: string;
  /** The output folder it holds, for jobs that write one. */
  folder: string | null;
}

export interface WorkerInfo {
  pid: number;
  version: string;
  node: string;
  jobs: RunningJob[];
}

/** No parameters; an empty object keeps every request of this protocol a one-parameter request. */
export type WorkerInfoParams = Record<string, never>;

export const WorkerInfoRequest = new RequestType<WorkerInfoParams, WorkerInfo, WorkerErrorData>('pajamas/workerInfo');

// ---- notifications --------------------------------------------------------------------------

export interface JobProgressParams {
  jobId: string;
  progress: Progress;
}

/** Worker -> client, throttled; a new step is always sent. */
export const JobProgressNotification = new NotificationType<JobProgressParams>('pajamas/jobProgress');

export interface LogParams {
  /** The job the line belongs to; null for the worker's own lines. */
  jobId: string | null;
  line: string;
  level: 'info' | 'error';
}

/** Worker -> client: a line for the output channel (every tool call, decisions, warnings). */
export const LogNotification = new NotificationType<LogParams>('pajamas/log');

export interface CancelJobParams {
  jobId: string;
}

/** Client -> worker: abort the job; its request then rejects with the "cancelled" code once it has cleaned up. */
export const CancelJobNotification = new NotificationType<CancelJobParams>('pajamas/cancelJob');

/** What the client passes in `initializationOptions`. */
export interface WorkerInitOptions {
  /** Log every progress event too (for debugging). */
  verbose: boolean;
}
