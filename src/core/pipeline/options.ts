/**
 * What `pajamas quantize` is asked to do, with defaults filled in and every value checked before
 * any heavy work starts.
 */
import path from 'node:path';
import { OptionError } from '../errors';
import { validateMlxOptions } from '../plan/mlx-policy';
import { DEFAULT_EVAL_CTX, checkEvalContext } from '../quality/evaluate';
import { DEFAULT_GATE_THRESHOLD_PCT, checkGateThreshold } from '../quality/gate';
import { PLAN_STRATEGIES, PLAN_TARGETS, type MlxQuant, type PlanStrategy, type PlanTarget } from '../plan/types';
import type { HubAccess } from '../hf/hub-access';

export const OUTPUT_FORMATS = ['gguf', 'mlx'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export type ImatrixMode = { kind: 'auto' } | { kind: 'off' } | { kind: 'file'; path: string };

export interface QuantizeRequest {
  /** A model folder, an F16/BF16/F32 .gguf, or a Hub repo id `org/name[@revision]`. */
  model: string;
  /** How to reach the Hub when `model` is a repo id (token, endpoint, cache); else the environment's. */
  hub?: HubAccess;
  outDir?: string;
  formats?: OutputFormat[];
  targets?: PlanTarget[];
  strategies?: PlanStrategy[];
  imatrix?: ImatrixMode;
  calibrationFile?: string;
  mlxBits?: number;
  mlxGroupSize?: number;
  evalTextFile?: string;
  evaluate?: boolean;
  contextSize?: number;
  gate?: boolean;
  gateThresholdPct?: number;
  keepIntermediate?: boolean;
  /** Measure each pajamas GGUF against the stock recipe on calibration text, keeping stock when pajamas is not better (default true). */
  stockCheck?: boolean;
  /** When another run writes into the output folder: wait for it (default) or refuse at once. */
  waitForOutputFolder?: boolean;
}

export interface QuantizeSettings {
  model: string;
  outDir: string;
  formats: OutputFormat[];
  targets: PlanTarget[];
  strategies: PlanStrategy[];
  imatrix: ImatrixMode;
  calibrationFile: string | null;
  mlx: MlxQuant;
  evalTextFile: string | null;
  evaluate: boolean;
  contextSize: number;
  gate: boolean;
  gateThresholdPct: number;
  keepIntermediate: boolean;
  stockCheck: boolean;
}

export const DEFAULT_TARGETS: PlanTarget[] = ['Q4_K_M'];
export const DEFAULT_FORMATS: OutputFormat[] = ['gguf', 'mlx'];

export function resolveSettings(request: QuantizeRequest, modelName: string): QuantizeSettings {
  const targets = unique(request.targets ?? DEFAULT_TARGETS);
  const strategies = unique<PlanStrategy>(request.strategies ?? ['pajamas']);
  const formats = unique(request.formats ?? DEFAULT_FORMATS);
  checkList('targets', targets, PLAN_TARGETS);
  checkList('strategies', strategies, PLAN_STRATEGIES);
  checkList('formats', formats, OUTPUT_FORMATS);
  const contextSize = checkEvalContext(request.contextSize ?? DEFAULT_EVAL_CTX);
  const gateThresholdPct = checkGateThreshold(request.gateThresholdPct ?? DEFAULT_GATE_THRESHOLD_PCT);
  return {
    model: request.model,
    outDir: path.resolve(request.outDir ?? `${modelName}-pajamas`),
    formats,
    targets,
    strategies,
    imatrix: request.imatrix ?? { kind: 'auto' },
    calibrationFile: request.calibrationFile ? path.resolve(request.calibrationFile) : null,
    mlx: validateMlxOptions({ mlxBits: request.mlxBits, mlxGroupSize: request.mlxGroupSize }),
    evalTextFile: request.evalTextFile ? path.resolve(request.evalTextFile) : null,
    evaluate: request.evaluate ?? true,
    contextSize,
    gate: request.gate ?? true,
    gateThresholdPct,
    keepIntermediate: request.keepIntermediate ?? false,
    stockCheck: request.stockCheck ?? true,
  };
}

/** The importance-matrix option as text: auto, off, or a file. */
export function parseImatrixMode(value: string): ImatrixMode {
  if (value === 'auto' || value === 'off') return { kind: value };
  return { kind: 'file', path: path.resolve(value) };
}

export function ggufArtifactId(model: string, target: PlanTarget, strategy: PlanStrategy, imatrix: boolean): string {
  return `${model}-${target}-${strategy}${imatrix ? '-imatrix' : ''}`;
}

export function mlxArtifactId(model: string, bits: number, strategy: PlanStrategy): string {
  return `${model}-mlx-${bits}bit-${strategy}`;
}

/** A list option must name at least one of the allowed values and nothing else. */
function checkList(option: 'targets' | 'strategies' | 'formats', values: readonly string[], allowed: readonly string[]): void {
  const bad = values.filter((v) => !allowed.includes(v));
  if (!values.length || bad.length) throw new OptionError(option, bad.length ? bad : values, `one or more of ${allowed.join(', ')}`);
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
