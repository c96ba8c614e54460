/**
 * How much a weight of each tensor matters, relative to an ordinary projection weight in a dense
 * layer (1.0). The pajamas strategy spends bits where this weight times the quantization error
 * saved per byte is highest. Each factor comes from the architecture and says why in words, so
 * the plan's reasons can quote it. Measured sensitivities (from calibration statistics) can
 * replace or scale these priors through `PlanOptions`-level inputs later, without new rules.
 */
import type { ArchitectureInfo } from '../arch/types';
import type { TensorKind } from './types';

export interface Sensitivity {
  weight: number;
  /** Short phrases explaining each factor, in the order applied. */
  because: string[];
}

/** Largest factor one sharing rule may give (MQA with 64 heads is not 64x more sensitive). */
const MAX_SHARING_FACTOR = 8;
const OUTPUT_FACTOR = 2;
const EDGE_LAYER_FACTOR = 1.5;
const FFN_DOWN_FACTOR = 1.25;
const RECURRENT_FACTOR = 1.5;
const GLOBAL_ATTENTION_FACTOR = 2;

export function tensorSensitivity(arch: ArchitectureInfo, kind: TensorKind, layer: number | null): Sensitivity {
  const s: Sensitivity = { weight: 1, because: [] };
  const scale = (factor: number, why: string) => {
    if (factor === 1) return;
    s.weight *= factor;
    s.because.push(`${why} (x${round(factor)})`);
  };

  switch (kind) {
    case 'output':
      scale(OUTPUT_FACTOR, 'output head writes the logits directly');
      break;
    case 'token_embd':
      if (arch.tiedEmbeddings) scale(OUTPUT_FACTOR, 'tied embeddings also serve as the output head');
      break;
    case 'attn_k':
    case 'attn_v': {
      const ratio = arch.gqaRatio ?? 1;
      if (ratio > 1) {
        const label = arch.attention === 'mqa' ? 'MQA' : `GQA ${ratio}:1`;
        scale(Math.min(ratio, MAX_SHARING_FACTOR), `${label}: each key/value head serves ${ratio} query heads`);
      }
      break;
    }
    case 'attn_kv_a':
      scale(Math.min(arch.numAttentionHeads, MAX_SHARING_FACTOR), 'MLA latent key/value projection shared by every head');
      break;
    case 'attn_q_a':
      scale(Math.min(arch.numAttentionHeads, MAX_SHARING_FACTOR) / 2, 'MLA latent query projection shared by every head');
      break;
    case 'ffn_down':
    case 'ffn_down_shexp':
      scale(FFN_DOWN_FACTOR, 'down projections write straight into the residual stream');
      break;
    case 'ffn_gate_exps':
    case 'ffn_up_exps':
    case 'ffn_down_exps': {
      const moe = arch.moe;
      if (moe && moe.numExperts > 0) {
        scale(moe.numExpertsPerToken / moe.numExperts, `routed expert: a token uses ${moe.numExpertsPerToken} of ${moe.numExperts}`);
      }
      if (kind === 'ffn_down_exps') scale(FFN_DOWN_FACTOR, 'down projections write straight into the residual stream');
      break;
    }
    case 'ssm':
    case 'linear_attn':
      scale(RECURRENT_FACTOR, 'recurrent state carries errors forward through the sequence');
      break;
    default:
      break;
  }

  if (layer !== null) {
    const type = arch.layerTypes[layer];
    const isAttention = kind.startsWith('attn_');
    if (isAttention && type === 'full_attention' && arch.attentionPattern !== 'uniform') {
      const why = arch.attentionPattern === 'hybrid'
        ? 'one of the few softmax-attention layers of a hybrid'
        : 'global-attention layer among sliding-window layers';
      scale(GLOBAL_ATTENTION_FACTOR, why);
    }
    if (isEdgeLayer(layer, arch.numLayers)) scale(EDGE_LAYER_FACTOR, 'first or last eighth of the layers');
  }
  return s;
}

/** The first and last eighth of the layers (at least the first and the last one). */
export function isEdgeLayer(layer: number, numLayers: number): boolean {
  const eighth = Math.max(1, Math.trunc(numLayers / 8));
  return layer < eighth || layer >= numLayers - eighth;
}

function round(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(2).replace(/0+$/, '');
}
