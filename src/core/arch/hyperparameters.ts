/**
 * Hyperparameters checked by their meaning, in one place for every reader: config.json (detect,
 * convert) and GGUF metadata (detect, the GGUF pre-flight check before llama.cpp sees a file, the
 * runtime loader). Counts are whole numbers within the named limits of ./hyperparameter-limits,
 * epsilons and frequencies are finite and positive, related values agree with each other (query
 * heads are a multiple of key/value heads, experts per token never exceed the experts). Each
 * failure is a FormatError that names the file and the field.
 */
import { FormatError } from '../errors';
import {
  COUNT_KINDS,
  type CountKind,
  type CountKindName,
  MAX_LOGIT_SOFTCAP,
  MAX_NORM_EPSILON,
  MAX_ROPE_SCALING_FACTOR,
  MAX_ROPE_THETA,
} from './hyperparameter-limits';

/** A real-valued hyperparameter: its range, exclusive at 0 unless zeroAllowed. */
export interface RealKind {
  readonly what: string;
  readonly max: number;
  readonly maxExclusive: boolean;
  readonly zeroAllowed: boolean;
}

export const REAL_KINDS = {
  epsilon: { what: 'normalisation epsilon', max: MAX_NORM_EPSILON, maxExclusive: true, zeroAllowed: false },
  ropeTheta: { what: 'RoPE base frequency', max: MAX_ROPE_THETA, maxExclusive: false, zeroAllowed: false },
  /** 0 in GGUF metadata means "no scaling". */
  ropeFactor: { what: 'RoPE scaling factor', max: MAX_ROPE_SCALING_FACTOR, maxExclusive: false, zeroAllowed: true },
  /** config.json has no "no scaling" value: a scaling object has a positive factor. */
  ropeScale: { what: 'RoPE scaling factor', max: MAX_ROPE_SCALING_FACTOR, maxExclusive: false, zeroAllowed: false },
  softcap: { what: 'logit soft-capping value', max: MAX_LOGIT_SOFTCAP, maxExclusive: false, zeroAllowed: false },
  fraction: { what: 'fraction', max: 1, maxExclusive: false, zeroAllowed: false },
} as const satisfies Record<string, RealKind>;

export type RealKindName = keyof typeof REAL_KINDS;

/** Where values come from, for messages: the file and how a field is named in it. */
export interface HyperparameterSource {
  path: string;
  /** `"num_hidden_layers"` for config.json, `metadata "llama.block_count"` for GGUF. */
  label(field: string): string;
}

export function configSource(path: string): HyperparameterSource {
  return { path, label: (field) => `config.json field "${field}"` };
}

export function ggufSource(path: string): HyperparameterSource {
  return { path, label: (field) => `metadata "${field}"` };
}

export class HyperparameterChecker {
  constructor(readonly source: HyperparameterSource) {}

  fail(message: string, extra: { tensor?: string } = {}): never {
    throw new FormatError(message, { path: this.source.path, ...extra });
  }

  /**
   * A count, or undefined when absent (undefined or null). A count is a whole number within its
   * kind's limit, and not 0 unless the kind allows it.
   */
  count(field: string, value: unknown, kindName: CountKindName): number | undefined {
    if (value === undefined || value === null) return undefined;
    return this.checkCount(field, value, COUNT_KINDS[kindName]);
  }

  /** A count that is either one number or one per layer (GGUF arrays, per-layer config lists). */
  countOrPerLayer(field: string, value: unknown, kindName: CountKindName, layers: number | undefined): number[] | number | undefined {
    if (!Array.isArray(value)) return this.count(field, value, kindName);
    if (layers !== undefined && value.length !== layers) {
      this.fail(`${this.source.label(field)} lists ${value.length} values for ${layers} layers; it must give one per layer`);
    }
    if (value.length > COUNT_KINDS.layers.max) {
      this.fail(
        `${this.source.label(field)} lists ${value.length} values, more than the limit of ${COUNT_KINDS.layers.max} layers (MAX_LAYERS)`,
      );
    }
    const kind = COUNT_KINDS[kindName];
    // Per-layer lists may hold 0 for layers without the part (an FFN-less or attention-less layer).
    const perLayer: CountKind = { ...kind, zeroAllowed: true };
    return value.map((v, i) => this.checkCount(`${field}[${i}]`, v, perLayer));
  }

  /** A real number within its kind's range, or undefined when absent. */
  real(field: string, value: unknown, kindName: RealKindName): number | undefined {
    if (value === undefined || value === null) return undefined;
    const kind = REAL_KINDS[kindName];
    const label = this.source.label(field);
    if (typeof value !== 'number') this.fail(`${label} is ${describe(value)}; expected a number (${kind.what})`);
    if (!Number.isFinite(value)) this.fail(`${label} is ${value}; a ${kind.what} must be a finite number`);
    const low = kind.zeroAllowed ? value < 0 : value <= 0;
    const high = kind.maxExclusive ? value >= kind.max : value > kind.max;
    if (low || high) {
      const range = `${kind.zeroAllowed ? '[0' : '(0'}, ${kind.max}${kind.maxExclusive ? ')' : ']'}`;
      this.fail(`${label} is ${value}; a ${kind.what} must lie in ${range}`);
    }
    return value;
  }

  /** `a` must be a multiple of `b` (query heads of key/value heads). */
  multipleOf(a: { field: string; value: number }, b: { field: string; value: number }, why: string): void {
    if (b.value > 0 && a.value % b.value !== 0) {
      this.fail(`${this.source.label(a.field)} (${a.value}) is not a multiple of ${this.source.label(b.field)} (${b.value}); ${why}`);
    }
  }

  /** `a` must not exceed `b` (experts per token of experts, rotary dims of the head size). */
  atMost(a: { field: string; value: number }, b: { field: string; value: number }, why: string): void {
    if (a.value > b.value) {
      this.fail(`${this.source.label(a.field)} (${a.value}) is more than ${this.source.label(b.field)} (${b.value}); ${why}`);
    }
  }

  private checkCount(field: string, value: unknown, kind: CountKind): number {
    const label = this.source.label(field);
    if (typeof value === 'bigint') {
      if (value > BigInt(kind.max)) this.tooLarge(label, String(value), kind);
      return this.checkCount(field, Number(value), kind);
    }
    if (typeof value !== 'number') this.fail(`${label} is ${describe(value)}; expected a whole number (${kind.what})`);
    if (!Number.isFinite(value) || !Number.isInteger(value) || value < 0) {
      this.fail(`${label} is ${value}; a ${kind.what} must be a whole number, 0 or more`);
    }
    if (value === 0 && !kind.zeroAllowed) this.fail(`${label} is 0; a ${kind.what} must be at least 1`);
    if (value > kind.max) this.tooLarge(label, String(value), kind);
    return value;
  }

  private tooLarge(label: string, shown: string, kind: CountKind): never {
    return this.fail(
      `${label} is ${shown}, more than the limit of ${kind.max} (${kind.limitName}) for a ${kind.what}; the file is corrupt ` +
        `or not a model this tool can handle`,
    );
  }
}

/** A short description of an unexpected value for messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

/** The largest of one value or a per-layer list (0 for an empty list). */
export function maxOf(v: number[] | number | undefined): number | undefined {
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.reduce((a, b) => Math.max(a, b), 0) : v;
}

/** The per-layer value at layer i of one value or a per-layer list. */
export function atLayer(v: number[] | number | undefined, i: number): number | undefined {
  return Array.isArray(v) ? v[i] : v;
}
