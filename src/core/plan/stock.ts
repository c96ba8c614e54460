/**
 * A model of llama.cpp's stock type choice (llama_tensor_get_type in src/llama-quant.cpp of the
 * pinned release) for the targets Llama-Pajamas plans for. It predicts, tensor by tensor, what
 * `llama-quantize <in> <out> <target>` writes, including the fallbacks for rows that do not split
 * into the type's blocks. Tested against `llama-quantize --dry-run`.
 */
import { ggmlType, LLAMA_FTYPES, type GgmlTypeName } from '../formats/ggml-types';
import { layerOf } from '../arch/model-tensor';
import { isStockAttnV, stockAllowsQuantization, stockCategory, type StockCategory } from './classify';
import type { PlanTarget } from './types';

/** Model facts the stock recipe looks at (from GGUF hparams). */
export interface StockModelInfo {
  /** GGUF general.architecture (e.g. "llama", "qwen3moe"). */
  ggufArch: string;
  /** block_count: all layers, including any multi-token-prediction layers. */
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  /** expert_count (0 for dense models). */
  numExperts: number;
}

export interface StockTensor {
  name: string;
  shape: readonly number[];
  /** Type in the input GGUF. */
  sourceType: GgmlTypeName;
}

export interface StockDecision {
  type: GgmlTypeName;
  /** The type the recipe wanted before the row-length fallback, when a fallback happened. */
  fallbackFrom: GgmlTypeName | null;
  /** Whether llama-quantize may change this tensor at all. */
  quantizable: boolean;
  /** The recipe's rule for this tensor, in words. */
  why: string;
}

/**
 * Order in which llama-quantize visits tensors (its weights map: by layer, blocks after the
 * tensors outside them, then by name). The attn_v counter depends on it.
 */
export function stockOrder<T extends { name: string }>(tensors: readonly T[]): T[] {
  return [...tensors].sort((a, b) => {
    const la = layerOf(a.name) ?? -1;
    const lb = layerOf(b.name) ?? -1;
    if (la !== lb) return la - lb;
    return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });
}

/** llama.cpp's use_more_bits: the first and last eighth of the layers, and every third between. */
export function useMoreBits(layer: number, numLayers: number): boolean {
  const eighth = Math.trunc(numLayers / 8);
  return layer < eighth || layer >= Math.trunc((7 * numLayers) / 8) || (layer - eighth) % 3 === 2;
}

/** Architectures and layer counts llama.cpp labels as 70B (attn_v gets Q5_K instead of Q4_K). */
function isSeventyB(info: StockModelInfo): boolean {
  switch (info.ggufArch) {
    case 'llama':
      return info.numExperts !== 8 && info.numLayers === 80 && info.numHeads !== info.numKvHeads;
    case 'qwen2':
    case 'deci':
    case 'olmo':
      return info.numLayers === 80;
    case 'jais2':
      return info.numLayers === 68;
    default:
      return false;
  }
}

/** The type llama-quantize falls back to when the row length does not fit the wanted type. */
export function rowLengthFallback(wanted: GgmlTypeName, rowLength: number): GgmlTypeName {
  const block = ggmlType(wanted).blockSize;
  if (rowLength % block === 0) return wanted;
  const FALLBACK: Partial<Record<GgmlTypeName, GgmlTypeName>> = {
    IQ1_S: 'IQ4_NL',
    IQ1_M: 'IQ4_NL',
    IQ2_XXS: 'IQ4_NL',
    IQ2_XS: 'IQ4_NL',
    IQ2_S: 'IQ4_NL',
    IQ3_XXS: 'IQ4_NL',
    IQ3_S: 'IQ4_NL',
    IQ4_XS: 'IQ4_NL',
    Q2_0: 'Q4_0',
    Q2_K: 'Q4_0',
    Q3_K: 'Q4_0',
    TQ1_0: 'Q4_0',
    TQ2_0: 'Q4_0',
    Q4_K: 'Q5_0',
    Q5_K: 'Q5_1',
    Q6_K: 'Q8_0',
  };
  let next = FALLBACK[wanted];
  if (!next) {
    if (block > 32) throw new Error(`llama.cpp defines no fallback for ${wanted}`);
    next = wanted;
  }
  return rowLength % ggmlType(next).blockSize === 0 ? next : 'F16';
}

/**
 * Predicts llama-quantize's type for every tensor at `target`. Tensors are returned in the input
 * order; counters run in llama-quantize's visiting order.
 */
export function stockTypes(info: StockModelInfo, tensors: readonly StockTensor[], target: PlanTarget): Map<string, StockDecision> {
  const defaultType = LLAMA_FTYPES[target].defaultType as GgmlTypeName;
  const tied = !tensors.some((t) => t.name === 'output.weight');
  const numAttnV = tensors.filter((t) => isStockAttnV(stockCategory(t.name))).length;
  const state = { attnV: 0, ffnDown: 0 };
  const decisions = new Map<string, StockDecision>();

  for (const t of stockOrder(tensors)) {
    if (!stockAllowsQuantization(t.name, t.shape)) {
      decisions.set(t.name, { type: t.sourceType, fallbackFrom: null, quantizable: false, why: 'never quantized by llama.cpp' });
      continue;
    }
    const wanted = recipeType(info, t, target, defaultType, { tied, numAttnV, state });
    const type = rowLengthFallback(wanted.type, t.shape[0] ?? 1);
    decisions.set(t.name, { type, fallbackFrom: type === wanted.type ? null : wanted.type, quantizable: true, why: wanted.why });
  }
  return decisions;
}

interface RecipeContext {
  tied: boolean;
  numAttnV: number;
  state: { attnV: number; ffnDown: number };
}

interface RecipeChoice {
  type: GgmlTypeName;
  why: string;
}

/** llama_tensor_get_type_impl, restricted to the targets Llama-Pajamas offers (K-quants, Q8_0, MXFP4_MOE). */
function recipeType(info: StockModelInfo, t: StockTensor, target: PlanTarget, defaultType: GgmlTypeName, ctx: RecipeContext): RecipeChoice {
  const category = stockCategory(t.name);
  const falcon = info.ggufArch === 'falcon';
  const eightExperts = info.numExperts === 8;
  const body = { type: defaultType, why: `${target} body type` };

  if (category === 'output' || (ctx.tied && category === 'token_embd')) {
    const what = category === 'output' ? 'output head' : 'tied embeddings (also the output head)';
    if (target === 'MXFP4_MOE') return { type: 'Q8_0', why: `${what}: Q8_0 at MXFP4_MOE` };
    const rowLength = t.shape[0] ?? 1;
    if (falcon || rowLength % ggmlType(defaultType).blockSize !== 0)
      return { type: 'Q8_0', why: `${what}: Q8_0 when rows do not fit ${defaultType}` };
    return defaultType === 'Q8_0' ? { type: 'Q8_0', why: `${what}: Q8_0` } : { type: 'Q6_K', why: `${what}: always Q6_K` };
  }
  if (target === 'MXFP4_MOE') return mxfp4MoeType(info, t, category);
  if (category === 'token_embd') return body;

  if (isStockAttnV(category)) {
    let choice = body;
    if ((target === 'Q4_K_M' || target === 'Q5_K_M') && useMoreBits(ctx.state.attnV, ctx.numAttnV)) {
      choice = { type: 'Q6_K', why: `${category} in a use_more_bits layer: Q6_K` };
    }
    if (isSeventyB(info) && (choice.type === 'Q3_K' || choice.type === 'Q4_K'))
      choice = { type: 'Q5_K', why: `${category} of a 70B model: Q5_K` };
    if (eightExperts) choice = { type: 'Q8_0', why: `${category} of an 8-expert model: Q8_0` };
    ctx.state.attnV++;
    return choice;
  }
  if (category === 'attn_k') return eightExperts ? { type: 'Q8_0', why: 'attn_k of an 8-expert model: Q8_0' } : body;

  if (category === 'ffn_down') {
    const layer = info.numExperts > 1 ? layerFromName(t.name, info.numLayers) : ctx.state.ffnDown;
    ctx.state.ffnDown++;
    const n = info.numLayers;
    const more = useMoreBits(layer, n);
    if (target === 'Q4_K_M' && falcon) {
      const type = layer < Math.trunc(n / 16) ? 'Q6_K' : more ? 'Q5_K' : 'Q4_K';
      return { type, why: 'ffn_down of a Falcon model' };
    }
    if ((target === 'Q4_K_M' || target === 'Q5_K_M') && more) return { type: 'Q6_K', why: 'ffn_down in a use_more_bits layer: Q6_K' };
    return body;
  }
  if (category === 'attn_output' && !falcon && eightExperts && target === 'Q4_K_M') {
    return { type: 'Q5_K', why: 'attn_output of an 8-expert model: Q5_K' };
  }
  return body;
}

/**
 * MXFP4_MOE: stacked experts (a third dimension over 1) MXFP4, everything else Q8_0. bailingmoe3's
 * MLA projections are 3-D too, so there only the FFN categories count as experts.
 */
function mxfp4MoeType(info: StockModelInfo, t: StockTensor, category: StockCategory): RecipeChoice {
  const ffn = category === 'ffn_up' || category === 'ffn_gate' || category === 'ffn_down';
  if ((t.shape[2] ?? 1) > 1 && (info.ggufArch !== 'bailingmoe3' || ffn)) return { type: 'MXFP4', why: 'stacked experts: MXFP4' };
  return { type: 'Q8_0', why: 'not a stacked expert tensor: Q8_0 at MXFP4_MOE' };
}

function layerFromName(name: string, numLayers: number): number {
  const layer = layerOf(name);
  if (layer === null || layer >= numLayers) {
    throw new Error(`llama-quantize cannot place tensor ${name} in a layer of a ${numLayers}-layer MoE model`);
  }
  return layer;
}
