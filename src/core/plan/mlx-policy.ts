/**
 * MLX bits per tensor. MLX quantizes Linear and Embedding weights with one affine width per module
 * (bits 2-8, groups of 32/64/128 along the row). `naive` uses one width everywhere (mlx_lm's plain
 * `convert -q`); `pajamas` keeps the body at the chosen width, gives embeddings and the output head
 * 6 bits, MoE routers 8 bits, and follows the GGUF plan where it raised a tensor.
 */
import type { ArchitectureInfo } from '../arch/types';
import { elementCount, type GgmlTypeName } from '../formats/ggml-types';
import { OptionError } from '../errors';
import { MLX_BITS, MLX_GROUP_SIZES, type MlxQuant, type PlanOptions, type PlannedTensor, type TensorKind } from './types';

export const MLX_DEFAULT_BITS = 4;
export const MLX_DEFAULT_GROUP_SIZE = 64;
const MLX_EMBEDDING_BITS = 6;
const MLX_ROUTER_BITS = 8;

/** MLX width matching a GGUF type's precision (the plan's decisions carry over). */
const MLX_BITS_FOR_GGUF: Partial<Record<GgmlTypeName, number>> = {
  Q4_0: 4,
  Q4_1: 4,
  Q4_K: 4,
  Q5_0: 5,
  Q5_1: 5,
  Q5_K: 5,
  Q6_K: 6,
  Q8_0: 8,
  F16: 8,
  BF16: 8,
  F32: 8,
};

export interface MlxRow {
  kind: TensorKind;
  shape: readonly number[];
  /** Whether the GGUF side treats this as a quantizable weight matrix. */
  quantizable: boolean;
  ggufType: GgmlTypeName;
  /** Type in the source: MXFP4 experts (gpt-oss) stay MXFP4 in MLX too, in its mxfp4 mode. */
  sourceType?: GgmlTypeName;
}

/** MLX's mxfp4 mode: what MXFP4 experts are copied as (mlx_lm keeps them so whatever the recipe). */
const MLX_MXFP4: MlxQuant = { bits: 4, groupSize: 32, mode: 'mxfp4' };

export function validateMlxOptions(options: Pick<PlanOptions, 'mlxBits' | 'mlxGroupSize'>): MlxQuant {
  const bits = options.mlxBits ?? MLX_DEFAULT_BITS;
  const groupSize = options.mlxGroupSize ?? MLX_DEFAULT_GROUP_SIZE;
  if (!(MLX_BITS as readonly number[]).includes(bits)) throw new OptionError('mlxBits', bits, `one of ${MLX_BITS.join(', ')}`);
  if (!(MLX_GROUP_SIZES as readonly number[]).includes(groupSize)) {
    throw new OptionError('mlxGroupSize', groupSize, `one of ${MLX_GROUP_SIZES.join(', ')}`);
  }
  return { bits, groupSize };
}

export function planMlx(rows: readonly MlxRow[], options: PlanOptions): { defaults: MlxQuant; perTensor: (MlxQuant | null)[] } {
  const defaults = validateMlxOptions(options);
  const perTensor = rows.map((row) => {
    // MLX quantizes Linear/Embedding weights (routers are Linear layers there) whose rows split into groups.
    if (row.sourceType === 'MXFP4') return { ...MLX_MXFP4 };
    const isModuleWeight = row.quantizable || row.kind === 'router' || row.kind === 'shexp_gate';
    if (!isModuleWeight || row.shape.length < 2 || (row.shape[0] ?? 0) % defaults.groupSize !== 0) return null;
    if (options.strategy === 'naive') return { ...defaults };
    return { bits: pajamasBits(row, defaults.bits), groupSize: defaults.groupSize };
  });
  return { defaults, perTensor };
}

function pajamasBits(row: MlxRow, bodyBits: number): number {
  if (row.kind === 'router' || row.kind === 'shexp_gate') return Math.max(bodyBits, MLX_ROUTER_BITS);
  const fromPlan = MLX_BITS_FOR_GGUF[row.ggufType] ?? bodyBits;
  const floor = row.kind === 'token_embd' || row.kind === 'output' ? MLX_EMBEDDING_BITS : bodyBits;
  return Math.max(bodyBits, floor, fromPlan);
}

/** Bytes of the MLX weights: packed values plus one scale and one bias per group, others as stored. */
export function mlxTotalBytes(planned: readonly PlannedTensor[], arch: ArchitectureInfo): number {
  const sourceBytes = arch.dtype && /32/.test(arch.dtype) ? 4 : 2;
  return planned.reduce((total, t) => {
    const n = elementCount(t.shape);
    if (!t.mlx) return total + n * sourceBytes;
    // mxfp4: one E8M0 byte per group, no biases; affine: a scale and a bias per group.
    const groupBytes = t.mlx.mode === 'mxfp4' ? 1 : 2 * sourceBytes;
    return total + (n * t.mlx.bits) / 8 + (n / t.mlx.groupSize) * groupBytes;
  }, 0);
}
