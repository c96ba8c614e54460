/**
 * recommend(arch): a starting point before any measurement: which GGUF target to use, the MLX
 * mixed-precision recipe, and which architectural features get special handling in the plan.
 */
import type { ArchitectureInfo } from '../arch/types';
import { MLX_DEFAULT_BITS, MLX_DEFAULT_GROUP_SIZE } from './mlx-policy';
import type { PlanTarget } from './types';

export interface Recommendation {
  ggufMethod: PlanTarget;
  mlxConfig: { bodyBits: number; embeddingBits: number; outputBits: number; routerBits: number | null; groupSize: number };
  specialHandling: string[];
  why: string;
}

/** Below this many active parameters, 4-bit bodies cost noticeably more quality. */
const SMALL_MODEL_PARAMS = 1.5e9;
const MID_MODEL_PARAMS = 8e9;

export function recommend(arch: ArchitectureInfo): Recommendation {
  const active = arch.parameters.active || arch.parameters.total;
  let ggufMethod: PlanTarget = 'Q4_K_M';
  let why = 'Q4_K_M: the usual size/quality balance for models of this size';
  if (active < SMALL_MODEL_PARAMS) {
    ggufMethod = 'Q8_0';
    why = 'Q8_0: small models lose the most quality per bit removed, and are small anyway';
  } else if (active < MID_MODEL_PARAMS && !arch.moe) {
    ggufMethod = 'Q5_K_M';
    why = 'Q5_K_M: a mid-sized dense model keeps noticeably more quality for ~15% more size';
  }
  return {
    ggufMethod,
    mlxConfig: {
      bodyBits: MLX_DEFAULT_BITS,
      embeddingBits: 6,
      outputBits: 6,
      routerBits: arch.moe ? 8 : null,
      groupSize: MLX_DEFAULT_GROUP_SIZE,
    },
    specialHandling: specialHandling(arch),
    why,
  };
}

function specialHandling(arch: ArchitectureInfo): string[] {
  const out: string[] = [];
  if (arch.attention === 'gqa' || arch.attention === 'mqa') {
    out.push(
      `${arch.attention.toUpperCase()} ${arch.gqaRatio}:1: key/value projections are small ` +
        `and shared by ${arch.gqaRatio} query heads; they get more bits`,
    );
  }
  if (arch.attention === 'mla') out.push('MLA: the latent key/value and query projections are shared by every head; they get more bits');
  if (arch.moe) {
    const { numExperts, numExpertsPerToken, numSharedExperts } = arch.moe;
    out.push(
      'MoE: routers stay F32 in GGUF and 8-bit in MLX; ' +
        `routed experts (${numExpertsPerToken} of ${numExperts} per token) carry the bit savings`,
    );
    if (numSharedExperts > 0) out.push(`${numSharedExperts} shared expert(s) serve every token and are treated like dense FFN weights`);
  }
  if (arch.attentionPattern === 'alternating')
    out.push(`sliding window ${arch.slidingWindow}: the global-attention layers get more bits than the local ones`);
  if (arch.attentionPattern === 'hybrid')
    out.push(
      'hybrid: the few softmax-attention layers get more bits; ' +
        'SSM/linear-attention projections are weighted for recurrent error build-up; conv1d stays F32',
    );
  if (arch.tiedEmbeddings) out.push('tied embeddings: token_embd is also the output head and is planned as one');
  if (arch.sourceQuantization)
    out.push(`source is already ${arch.sourceQuantization.method}-quantized: such tensors are kept as they are or dequantized first`);
  out.push('first and last layers get more bits (the output head never gets fewer than llama.cpp gives it)');
  return out;
}
