/**
 * Routed experts whose native precision is MXFP4. gpt-oss was trained with its experts in MXFP4 and
 * released that way (config quantization_config.quant_method "mxfp4"); a bf16 copy holds the same
 * values dequantized. Such experts are planned at MXFP4 whatever the target:
 * - MXFP4 in the source: kept as they are (llama-quantize copies them; any other type would
 *   dequantize and re-round them, losing precision and, at every K-quant target, costing bytes);
 * - dequantized in the source: ggml's MXFP4 quantizer picks the block scale from the block's
 *   largest magnitude, which for MXFP4-valued blocks puts every value back on its grid, so the
 *   released values come back exactly (a fine-tuned bf16 copy would be rounded, as by any 4-bit type).
 * The bytes they free against llama.cpp's recipe go to the rest of the model.
 */
import type { ArchitectureInfo } from '../arch/types';
import { rowBytes, type GgmlTypeName } from '../formats/ggml-types';
import { EXPERT_KINDS } from './classify';
import type { TensorKind } from './types';

/** Model types whose routed experts are MXFP4 by design. */
const MXFP4_NATIVE_MODEL_TYPES: ReadonlySet<string> = new Set(['gpt_oss', 'gpt-oss']);

export interface FixedChoice {
  type: GgmlTypeName;
  reason: string;
}

/** Whether the model's routed experts are MXFP4 by design or in the checkpoint. */
export function hasMxfp4Experts(arch: ArchitectureInfo): boolean {
  return MXFP4_NATIVE_MODEL_TYPES.has(arch.modelType) || arch.sourceQuantization?.method === 'mxfp4';
}

/**
 * With the experts fixed at their native precision, the bytes llama.cpp's recipe spends on
 * requantizing them are free for the rest of the model: its ladder goes up to F16.
 */
export function withNativeExpertsTop(arch: ArchitectureInfo, ladder: readonly GgmlTypeName[]): GgmlTypeName[] {
  return hasMxfp4Experts(arch) && !ladder.includes('F16') ? [...ladder, 'F16'] : [...ladder];
}

/** The type an expert tensor must have whatever the budget, or null when the allocator decides. */
export function nativeExpertChoice(
  arch: ArchitectureInfo,
  kind: TensorKind,
  shape: readonly number[],
  sourceType: GgmlTypeName,
): FixedChoice | null {
  if (!EXPERT_KINDS.has(kind) || !hasMxfp4Experts(arch)) return null;
  if (rowBytes('MXFP4', shape[0] ?? 1) === undefined) return null;
  if (sourceType === 'MXFP4') {
    return {
      type: 'MXFP4',
      reason:
        `${kind}: kept MXFP4, the experts' released precision ` + `(any other type re-rounds them; llama-quantize copies them as they are)`,
    };
  }
  if (sourceType === 'F16' || sourceType === 'BF16' || sourceType === 'F32') {
    return {
      type: 'MXFP4',
      reason:
        `${kind}: MXFP4, the experts' native precision ` +
        `(values dequantized from MXFP4 quantize back exactly; other types re-round them)`,
    };
  }
  return null;
}
