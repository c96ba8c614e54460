/**
 * Memory fit: how much memory an artifact needs for a given context (weights + KV cache + recurrent
 * state + compute buffers + a fixed overhead), whether that fits the free RAM / VRAM, and which
 * artifact to run: the best quality that fits, or an explanation of why none does and what would.
 *
 * The KV cache follows llama.cpp's allocation (src/llama-kv-cache*.cpp of the pinned release):
 * per token and layer, K and V rows of kvHeads x headDim elements (GQA/MQA store fewer heads);
 * sliding-window layers keep min(context, window + ubatch) cells, padded to 256; MLA layers store one
 * compressed row of kv_lora_rank + rope-dim elements and no V; SSM / linear-attention / short-conv
 * layers keep a constant state instead.
 */
import type { ArchitectureInfo, LayerKind } from '../arch/types';

/** llama.cpp pads KV cache sizes (cells) to a multiple of this. */
export const KV_CELL_PADDING = 256;
/** F16 K/V caches, node-llama-cpp's and llama.cpp's default. */
export const DEFAULT_KV_BYTES_PER_ELEMENT = 2;
/** llama.cpp's default micro-batch; node-llama-cpp uses its batch size (default 512) as the micro-batch. */
export const DEFAULT_UBATCH = 512;
/**
 * Recurrent state per layer per hidden unit (f32): a Mamba-2 / gated-delta-net layer holds about
 * 2*hidden x 128 state values plus a few conv rows. ArchitectureInfo carries no SSM dimensions, so
 * this is an estimate that is right in magnitude for the published hybrids.
 */
export const SSM_STATE_BYTES_PER_HIDDEN = 2 * 128 * 4 + 32;
/** LFM2-style short convolutions keep a few rows of hidden values. */
export const CONV_STATE_BYTES_PER_HIDDEN = 16;
/** The process, the native libraries, the graph and tokenizer structures. */
export const RUNTIME_OVERHEAD_BYTES = 160 * 2 ** 20;
/** Activations held per micro-batch token, in units of the widest of hidden/FFN/vocab rows (f32). */
const COMPUTE_ROWS_PER_TOKEN = 3;
/** Upper end of the context search when the model does not say its trained length. */
const MAX_SEARCHED_CONTEXT = 1 << 20;

export interface MemoryOptions {
  contextSize: number;
  /** Bytes per K/V element (2 for F16, ~1.06 for Q8_0). */
  kvBytesPerElement?: number;
  ubatch?: number;
}

export interface MemoryEstimate {
  contextSize: number;
  weightsBytes: number;
  kvCacheBytes: number;
  /** Constant recurrent state of SSM / linear-attention / conv layers. */
  stateBytes: number;
  computeBytes: number;
  overheadBytes: number;
  totalBytes: number;
}

const padCells = (n: number) => Math.ceil(n / KV_CELL_PADDING) * KV_CELL_PADDING;

/** Elements cached per token by one attention layer (K and V together). */
export function kvElementsPerToken(arch: ArchitectureInfo): number {
  if (arch.mla) return arch.mla.kvLoraRank + arch.mla.qkRopeHeadDim;
  const kvHeads = arch.numKeyValueHeads ?? arch.numAttentionHeads;
  return 2 * kvHeads * arch.headDim;
}

/** Cells a layer of this kind keeps for a context (0 for layers without a KV cache). */
export function kvCellsForLayer(kind: LayerKind, arch: ArchitectureInfo, contextSize: number, ubatch = DEFAULT_UBATCH): number {
  const full = padCells(contextSize);
  switch (kind) {
    case 'full_attention':
      return full;
    case 'sliding_attention':
    case 'chunked_attention':
      return arch.slidingWindow ? Math.min(full, padCells(arch.slidingWindow + ubatch)) : full;
    case 'linear_attention':
    case 'mamba':
    case 'short_conv':
    case 'mlp_only':
      return 0;
    default: {
      const unreachable: never = kind;
      return unreachable;
    }
  }
}

/** Constant per-sequence state of one layer. */
export function stateBytesForLayer(kind: LayerKind, arch: ArchitectureInfo): number {
  if (kind === 'mamba' || kind === 'linear_attention') return SSM_STATE_BYTES_PER_HIDDEN * arch.hiddenSize;
  if (kind === 'short_conv') return CONV_STATE_BYTES_PER_HIDDEN * arch.hiddenSize;
  return 0;
}

/** The layer kinds, one per layer (all full attention when the info lists none). */
function layerKinds(arch: ArchitectureInfo): LayerKind[] {
  return arch.layerTypes.length ? arch.layerTypes : new Array<LayerKind>(arch.numLayers).fill('full_attention');
}

/** KV cache bytes for one sequence of `contextSize` tokens. */
export function estimateKvCacheBytes(arch: ArchitectureInfo, opts: MemoryOptions): number {
  const bytes = opts.kvBytesPerElement ?? DEFAULT_KV_BYTES_PER_ELEMENT;
  const perCell = kvElementsPerToken(arch) * bytes;
  return layerKinds(arch).reduce((sum, kind) => sum + kvCellsForLayer(kind, arch, opts.contextSize, opts.ubatch) * perCell, 0);
}

export function estimateStateBytes(arch: ArchitectureInfo): number {
  return layerKinds(arch).reduce((sum, kind) => sum + stateBytesForLayer(kind, arch), 0);
}

/**
 * Compute buffers: a few f32 rows of the widest activation per micro-batch token, plus one row of
 * logits. With flash attention (llama.cpp's default where supported) the attention scores are not
 * materialised for the whole context, so the context does not enter here.
 */
export function estimateComputeBytes(arch: ArchitectureInfo, opts: MemoryOptions): number {
  const ubatch = Math.min(opts.ubatch ?? DEFAULT_UBATCH, padCells(opts.contextSize));
  const ffn = Math.max(arch.intermediateSize, (arch.moe?.expertIntermediateSize ?? 0) * (arch.moe?.numExpertsPerToken ?? 0));
  const widest = Math.max(arch.hiddenSize, ffn);
  return ubatch * COMPUTE_ROWS_PER_TOKEN * widest * 4 + ubatch * arch.vocabSize * 4;
}

export function estimateMemory(arch: ArchitectureInfo, weightsBytes: number, opts: MemoryOptions): MemoryEstimate {
  const kvCacheBytes = estimateKvCacheBytes(arch, opts);
  const stateBytes = estimateStateBytes(arch);
  const computeBytes = estimateComputeBytes(arch, opts);
  const overheadBytes = RUNTIME_OVERHEAD_BYTES;
  return {
    contextSize: opts.contextSize,
    weightsBytes,
    kvCacheBytes,
    stateBytes,
    computeBytes,
    overheadBytes,
    totalBytes: weightsBytes + kvCacheBytes + stateBytes + computeBytes + overheadBytes,
  };
}

/**
 * The largest context (a multiple of 256, or the model's trained length when that fits) whose
 * estimate fits `budgetBytes`; 0 when not even 256 tokens fit.
 */
export function maxContextThatFits(
  arch: ArchitectureInfo,
  weightsBytes: number,
  budgetBytes: number,
  opts: Omit<MemoryOptions, 'contextSize'> = {},
): number {
  const limit = arch.contextLength > 0 ? arch.contextLength : MAX_SEARCHED_CONTEXT;
  const fits = (ctx: number) => estimateMemory(arch, weightsBytes, { ...opts, contextSize: ctx }).totalBytes <= budgetBytes;
  if (!fits(KV_CELL_PADDING)) return 0;
  if (fits(limit)) return limit;
  let lo = 1; // in units of KV_CELL_PADDING; lo fits, hi does not
  let hi = Math.ceil(limit / KV_CELL_PADDING);
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (fits(mid * KV_CELL_PADDING)) lo = mid;
    else hi = mid;
  }
  return lo * KV_CELL_PADDING;
}
