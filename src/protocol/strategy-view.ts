/**
 * Messages between the extension host and the Strategy webview ("Quantize with Pajamas"). The view
 * starts with `ready`; the host answers `init` with everything the view shows (no data goes into
 * the HTML). Plan requests carry ids so a late answer for an old choice is dropped. The host checks
 * every message on arrival with `isStrategyViewMessage`; the view switches on `type` exhaustively.
 */
import type { ErrorCode } from '../core/errors';
import type { Progress } from '../core/job';
import type { OutputFormat } from '../core/pipeline/options';
import type { PlanStrategy, PlanTarget } from '../core/plan/types';
import type { PlanResult, QuantizeResult } from './worker';

export const STRATEGY_VIEW_TYPE = 'pajamas.strategy';

export type StrategyChoice = PlanStrategy | 'both';
export type ImatrixChoice = 'auto' | 'off' | 'file';

/** The options form. Paths are absolute or empty ("use the default"). */
export interface StrategyOptions {
  formats: OutputFormat[];
  targets: PlanTarget[];
  strategy: StrategyChoice;
  imatrix: ImatrixChoice;
  imatrixFile: string;
  calibrationFile: string;
  outDir: string;
  evaluate: boolean;
}

export interface ModelRef {
  path: string;
  name: string;
  kind: 'hf-folder' | 'gguf' | 'config';
}

export interface ErrorView {
  code: ErrorCode;
  message: string;
  /** What to do about it, in the extension's terms (a setting to change, a file to check). */
  hint: string | null;
}

export type JobView =
  | { state: 'running'; jobId: string; progress: Progress | null; startedAt: number }
  | { state: 'done'; jobId: string; result: QuantizeResult }
  | { state: 'failed'; jobId: string; error: ErrorView }
  | { state: 'cancelled'; jobId: string };

export type BrowseField = 'outDir' | 'calibrationFile' | 'imatrixFile';

export type ViewToHost =
  | { type: 'ready' }
  | { type: 'plan'; requestId: number; target: PlanTarget; strategy: PlanStrategy }
  | { type: 'options'; options: StrategyOptions }
  | { type: 'start'; options: StrategyOptions }
  | { type: 'cancel' }
  | { type: 'browse'; field: BrowseField }
  | { type: 'openManifest'; path: string }
  | { type: 'reveal'; path: string }
  /** "Chat" on an artifact of the results: the chat view opens with it loaded. */
  | { type: 'chat'; manifestPath: string; artifactId: string }
  | { type: 'rendered'; requestId: number; ms: number; tensors: number };

export type HostToView =
  | { type: 'init'; model: ModelRef; options: StrategyOptions; job: JobView | null }
  | { type: 'plan'; requestId: number; result: PlanResult }
  | { type: 'planError'; requestId: number; error: ErrorView }
  | { type: 'browsed'; field: BrowseField; path: string }
  | { type: 'job'; job: JobView };

/** Every output format, in the order the view offers them. */
export const OUTPUT_FORMAT_CHOICES: readonly OutputFormat[] = ['gguf', 'mlx'];
const FORMATS: readonly string[] = OUTPUT_FORMAT_CHOICES;
/** Every plan target (protocol imports only types from core; the check below keeps this list whole). */
const TARGET_LIST = ['Q4_K_M', 'Q5_K_M', 'Q6_K', 'Q8_0', 'MXFP4_MOE'] as const satisfies readonly PlanTarget[];
const listsEveryTarget: Exclude<PlanTarget, (typeof TARGET_LIST)[number]> extends never ? true : never = true;
void listsEveryTarget;
const TARGETS: readonly string[] = TARGET_LIST;
const STRATEGIES: readonly string[] = ['pajamas', 'naive'];
const BROWSE_FIELDS: readonly string[] = ['outDir', 'calibrationFile', 'imatrixFile'];

type Fields = Record<string, unknown>;
const isObject = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === 'string';
const isId = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const oneOf = (v: unknown, allowed: readonly string[]) => isString(v) && allowed.includes(v);
const listOf = (v: unknown, allowed: readonly string[]) => Array.isArray(v) && v.every((x) => oneOf(x, allowed));

export function isStrategyOptions(v: unknown): v is StrategyOptions {
  return (
    isObject(v) &&
    listOf(v.formats, FORMATS) &&
    listOf(v.targets, TARGETS) &&
    oneOf(v.strategy, [...STRATEGIES, 'both']) &&
    oneOf(v.imatrix, ['auto', 'off', 'file']) &&
    isString(v.imatrixFile) &&
    isString(v.calibrationFile) &&
    isString(v.outDir) &&
    typeof v.evaluate === 'boolean'
  );
}

/** The host's check of every message the view sends (a webview is untrusted input). */
export function isStrategyViewMessage(m: unknown): m is ViewToHost {
  if (!isObject(m) || !isString(m.type)) return false;
  switch (m.type) {
    case 'ready':
    case 'cancel':
      return true;
    case 'plan':
      return isId(m.requestId) && oneOf(m.target, TARGETS) && oneOf(m.strategy, STRATEGIES);
    case 'options':
    case 'start':
      return isStrategyOptions(m.options);
    case 'browse':
      return oneOf(m.field, BROWSE_FIELDS);
    case 'openManifest':
    case 'reveal':
      return isString(m.path) && m.path.length > 0;
    case 'chat':
      return isString(m.manifestPath) && m.manifestPath.length > 0 && isString(m.artifactId) && m.artifactId.length > 0;
    case 'rendered':
      return isId(m.requestId) && typeof m.ms === 'number' && Number.isFinite(m.ms) && isId(m.tensors);
    default:
      return false;
  }
}
