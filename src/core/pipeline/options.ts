/**
 * What `pajamas quantize` is asked to do, with defaults filled in and every value checked before
 * any heavy work starts.
 */
import path from 'node:path';
import { UsageError } from '../errors';
import { validateMlxOptions } from '../plan/mlx-policy';
import { PLAN_STRATEGIES, PLAN_TARGETS, type MlxQuant, type PlanStrategy, type PlanTarget } from '../plan/types';

export const OUTPUT_FORMATS = ['gguf', 'mlx'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export type ImatrixMode = { kind: 'auto' } | { kind: 'off' } | { kind: 'file'; path: string };

export interface QuantizeRequest {
  model: string;
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
}

export const DEFAULT_TARGETS: PlanTarget[] = ['Q4_K_M'];
export const DEFAULT_FORMATS: OutputFormat[] = ['gguf', 'mlx'];
export const DEFAULT_CONTEXT = 512;
export const DEFAULT_GATE_PCT = 5;

export function resolveSettings(request: QuantizeRequest, modelName: string): QuantizeSettings {
  const targets = unique(request.targets ?? DEFAULT_TARGETS);
  const strategies = unique<PlanStrategy>(request.strategies ?? ['pajamas']);
  const formats = unique(request.formats ?? DEFAULT_FORMATS);
  if (!targets.length || targets.some((t) => !PLAN_TARGETS.includes(t))) throw new UsageError(`--targets takes ${PLAN_TARGETS.join(', ')}`);
  if (!strategies.length || strategies.some((s) => !PLAN_STRATEGIES.includes(s)))
    throw new UsageError(`--strategy takes ${PLAN_STRATEGIES.join(', ')}`);
  if (!formats.length || formats.some((f) => !OUTPUT_FORMATS.includes(f)))
    throw new UsageError(`--formats takes ${OUTPUT_FORMATS.join(', ')}`);
  const contextSize = request.contextSize ?? DEFAULT_CONTEXT;
  if (!Number.isInteger(contextSize) || contextSize < 16)
    throw new UsageError(`--ctx must be an integer of at least 16, got ${contextSize}`);
  const gateThresholdPct = request.gateThresholdPct ?? DEFAULT_GATE_PCT;
  if (!(gateThresholdPct >= 0)) throw new UsageError(`--gate-threshold must be a percentage >= 0, got ${gateThresholdPct}`);
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
  };
}

/** `--imatrix auto|off|<file>` */
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

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
