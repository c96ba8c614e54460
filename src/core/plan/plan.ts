/**
 * planQuantization: ArchitectureInfo + the model's tensors + a target -> a type for every tensor.
 * `naive` reproduces llama.cpp's stock recipe exactly; `pajamas` spends the same byte budget where
 * the architecture says errors cost most (see sensitivity.ts), with llama.cpp's row-length
 * fallbacks decided up front so the quantized file matches the plan tensor for tensor.
 */
import type { ArchitectureInfo } from '../arch/types';
import type { ModelTensor } from '../arch/model-tensor';
import { elementCount, ggmlType, type GgmlTypeName, isGgmlTypeName, isUnquantizedType, tensorBytes } from '../formats/ggml-types';
import { allocateBits, type AllocationItem } from './allocate';
import { layerOf } from '../arch/model-tensor';
import { EXPERT_KINDS, tensorKind } from './classify';
import { intermediateType } from './intermediate-type';
import { planMlx, mlxTotalBytes } from './mlx-policy';
import { type FixedChoice, nativeExpertChoice, withNativeExpertsTop } from './native-experts';
import { sinkAdjustment } from './sinks';
import { type KindGains, sizeNote, tensorGain } from './sensitivity';
import { rowLengthFallback, type StockDecision, type StockModelInfo, stockTypes } from './stock';
import type { PlanOptions, PlannedTensor, PlanTarget, QuantPlan, TensorKind } from './types';

/** Types the pajamas strategy may choose from at each target, cheapest first. */
const PAJAMAS_LADDER: Record<PlanTarget, GgmlTypeName[]> = {
  Q4_K_M: ['Q4_K', 'Q5_K', 'Q6_K', 'Q8_0'],
  Q5_K_M: ['Q5_K', 'Q6_K', 'Q8_0'],
  Q6_K: ['Q5_K', 'Q6_K', 'Q8_0'],
  Q8_0: ['Q6_K', 'Q8_0', 'F16'],
  MXFP4_MOE: ['Q6_K', 'Q8_0', 'F16'],
};

/** Stacked (3-D) experts at MXFP4_MOE start where llama.cpp puts them. */
const EXPERT_LADDER: Partial<Record<PlanTarget, GgmlTypeName[]>> = { MXFP4_MOE: ['MXFP4', 'Q8_0'] };

interface Prepared {
  tensor: ModelTensor;
  kind: TensorKind;
  layer: number | null;
  sourceType: GgmlTypeName;
  stock: StockDecision;
  /**
   * The tensor writes the logits: output.weight, or with tied embeddings (no output.weight, as
   * llama-quantize decides it) the token embedding, which is then the first and the last layer at once.
   */
  outputHead: boolean;
}

export function planQuantization(arch: ArchitectureInfo, tensors: readonly ModelTensor[], options: PlanOptions): QuantPlan {
  const prepared = prepare(arch, tensors, options);
  const decided = options.strategy === 'naive' ? planNaive(prepared) : planPajamas(arch, prepared, options.target, options.gains ?? {});
  const mlx = planMlx(
    prepared.map((p, i) => ({
      kind: p.kind,
      shape: p.tensor.shape,
      quantizable: p.stock.quantizable,
      ggufType: decided[i]!.type,
      sourceType: p.sourceType,
    })),
    options,
  );

  const planned: PlannedTensor[] = prepared.map((p, i) => {
    const d = decided[i]!;
    return {
      name: p.tensor.name,
      hfName: p.tensor.hfName,
      shape: [...p.tensor.shape],
      kind: p.kind,
      layer: p.layer,
      sourceType: p.sourceType,
      ggufType: d.type,
      stockType: p.stock.type,
      fallback: d.fallbackFrom ? { wanted: d.fallbackFrom, reason: fallbackReason(d.fallbackFrom, d.type, p.tensor.shape[0] ?? 1) } : null,
      mlx: mlx.perTensor[i]!,
      reason: d.reason,
      bytes: tensorBytes(d.type, p.tensor.shape),
      stockBytes: tensorBytes(p.stock.type, p.tensor.shape),
    };
  });

  // Generated tables (rope frequency factors) are written but are not trained parameters.
  const parameters = tensors.reduce((n, t) => n + (t.notParameter ? 0 : elementCount(t.shape)), 0);
  const sizeBytes = planned.reduce((n, t) => n + t.bytes, 0);
  const stockSizeBytes = planned.reduce((n, t) => n + t.stockBytes, 0);
  const mlxSizeBytes = mlxTotalBytes(planned, arch);
  const bpw = (bytes: number) => (parameters ? (bytes * 8) / parameters : 0);
  return {
    strategy: options.strategy,
    target: options.target,
    mlxDefault: mlx.defaults,
    tensors: planned,
    totals: {
      parameters,
      sizeBytes,
      bpw: bpw(sizeBytes),
      stockSizeBytes,
      stockBpw: bpw(stockSizeBytes),
      mlxSizeBytes,
      mlxBpw: bpw(mlxSizeBytes),
    },
    notes: planNotes(arch, planned),
  };
}

function prepare(arch: ArchitectureInfo, tensors: readonly ModelTensor[], options: PlanOptions): Prepared[] {
  const stockInput = tensors.map((t) => ({ name: t.name, shape: t.shape, sourceType: sourceTypeOf(t, options) }));
  const stock = stockTypes(stockModelInfo(arch, tensors), stockInput, options.target);
  const tied = !tensors.some((t) => tensorKind(t.name) === 'output');
  return tensors.map((t, i) => {
    const kind = tensorKind(t.name);
    return {
      tensor: t,
      kind,
      layer: layerOf(t.name),
      sourceType: stockInput[i]!.sourceType,
      stock: stock.get(t.name)!,
      outputHead: kind === 'output' || (tied && kind === 'token_embd'),
    };
  });
}

/**
 * A GGUF input tells its types; an HF checkpoint is planned as the intermediate GGUF the converter
 * writes, where tensors quantized in the checkpoint (MXFP4 experts) keep their type.
 */
function sourceTypeOf(t: ModelTensor, options: PlanOptions): GgmlTypeName {
  if (!options.sourceIsGguf) {
    const kept = t.sourceDtype && isGgmlTypeName(t.sourceDtype) && ggmlType(t.sourceDtype).quantized ? t.sourceDtype : null;
    return kept ?? intermediateType(t.name, t.shape, options.intermediateType ?? 'F16');
  }
  if (!t.sourceDtype || !isGgmlTypeName(t.sourceDtype)) throw new Error(`GGUF tensor ${t.name} has no ggml type`);
  return t.sourceDtype;
}

/** What llama.cpp's recipe reads from the model's hparams (GGUF names for the architectures it singles out). */
function stockModelInfo(arch: ArchitectureInfo, tensors: readonly ModelTensor[]): StockModelInfo {
  const maxLayer = tensors.reduce((m, t) => Math.max(m, layerOf(t.name) ?? -1), -1);
  const LLAMA_LIKE = new Set(['llama', 'mistral', 'mixtral']);
  return {
    ggufArch: LLAMA_LIKE.has(arch.modelType) ? 'llama' : arch.modelType,
    numLayers: Math.max(arch.numLayers, maxLayer + 1),
    numHeads: arch.numAttentionHeads,
    numKvHeads: arch.numKeyValueHeads ?? arch.numAttentionHeads,
    numExperts: arch.moe?.numExperts ?? 0,
  };
}

interface Decided {
  type: GgmlTypeName;
  fallbackFrom: GgmlTypeName | null;
  reason: string;
}

function planNaive(prepared: readonly Prepared[]): Decided[] {
  return prepared.map((p) => ({
    type: p.stock.type,
    fallbackFrom: p.stock.fallbackFrom,
    reason: p.stock.quantizable ? `stock recipe: ${p.stock.why}` : keptReason(p),
  }));
}

function planPajamas(arch: ArchitectureInfo, prepared: readonly Prepared[], target: PlanTarget, gains: KindGains): Decided[] {
  const budget = prepared.reduce((n, p) => n + tensorBytes(p.stock.type, p.tensor.shape), 0);
  const items: AllocationItem[] = [];
  const details = new Map<string, { wanted: Map<GgmlTypeName, GgmlTypeName>; because: string[] }>();
  const fixed = new Map<string, FixedChoice>();
  let fixedBytes = 0;
  for (const p of prepared) {
    const native = p.stock.quantizable ? nativeExpertChoice(arch, p.kind, p.tensor.shape, p.sourceType) : null;
    if (native) {
      fixed.set(p.tensor.name, native);
      fixedBytes += tensorBytes(native.type, p.tensor.shape);
      continue;
    }
    if (!isAllocatable(p)) {
      fixedBytes += tensorBytes(p.sourceType, p.tensor.shape);
      continue;
    }
    const floored = p.outputHead && gains[p.kind] === undefined;
    const { candidates, wanted } = candidateTypes(p, ladderFor(arch, target, p), floored);
    const prior = tensorGain(arch, { kind: p.kind, layer: p.layer, outputHead: p.outputHead }, gains);
    // A measured gain already includes what the sinks do.
    const sinks = gains[p.kind] === undefined ? sinkAdjustment(arch, p.kind) : null;
    const gain = prior.gain * (sinks?.factor ?? 1);
    const because = sinks ? [...prior.because, sinks.because] : prior.because;
    if (floored) because.push(`never below stock's ${p.stock.type} for the output head without a measured gain`);
    const note = sizeNote(arch, p.kind);
    details.set(p.tensor.name, { wanted, because: note ? [...because, note] : because });
    items.push({ name: p.tensor.name, shape: p.tensor.shape, candidates, gain });
  }
  const allocation = allocateBits(items, fixedBytes, budget);
  const byName = new Map(items.map((item) => [item.name, item]));

  return prepared.map((p) => {
    const native = fixed.get(p.tensor.name);
    if (native) return { type: native.type, fallbackFrom: null, reason: native.reason };
    const item = byName.get(p.tensor.name);
    if (!item) return { type: p.sourceType, fallbackFrom: null, reason: keptReason(p) };
    const index = allocation.choice.get(item.name)!;
    const type = item.candidates[index]!;
    const { wanted: wantedByType, because } = details.get(item.name)!;
    const wanted = wantedByType.get(type)!;
    const why = because.map((w) => `; ${w}`).join('');
    const verdict = index === 0 ? `${item.candidates[0]} (the ${target} floor)` : `raised to ${type} within the ${target} budget`;
    return { type, fallbackFrom: wanted === type ? null : wanted, reason: `${p.kind}: ${verdict}${why}` };
  });
}

/** Quantizable by llama-quantize and not already quantized in the source (e.g. MXFP4 experts). */
function isAllocatable(p: Prepared): boolean {
  const alreadyQuantized = !isUnquantizedType(p.sourceType);
  return p.stock.quantizable && !alreadyQuantized;
}

/** The types the allocator may give this tensor at `target`, cheapest first. */
function ladderFor(arch: ArchitectureInfo, target: PlanTarget, p: Prepared): GgmlTypeName[] {
  const stacked = (p.tensor.shape[2] ?? 1) > 1;
  return (stacked ? EXPERT_LADDER[target] : undefined) ?? withNativeExpertsTop(arch, PAJAMAS_LADDER[target]);
}

/**
 * The ladder's types as this tensor can hold them: a type whose blocks do not divide the row
 * becomes llama.cpp's fallback for it (so costs and errors are those of the type really written);
 * duplicates collapse; a floored tensor starts at the stock recipe's type.
 */
function candidateTypes(
  p: Prepared,
  ladder: readonly GgmlTypeName[],
  floored: boolean,
): { candidates: GgmlTypeName[]; wanted: Map<GgmlTypeName, GgmlTypeName> } {
  const rowLength = p.tensor.shape[0] ?? 1;
  const wanted = new Map<GgmlTypeName, GgmlTypeName>();
  for (const type of ladder) {
    const held = rowLengthFallback(type, rowLength);
    if (!wanted.has(held)) wanted.set(held, type);
  }
  let candidates = [...wanted.keys()].sort((a, b) => tensorBytes(a, p.tensor.shape) - tensorBytes(b, p.tensor.shape));
  if (floored) {
    const floorBytes = tensorBytes(p.stock.type, p.tensor.shape);
    const kept = candidates.filter((c) => tensorBytes(c, p.tensor.shape) >= floorBytes);
    candidates = kept.length ? kept : [p.stock.type];
    if (!wanted.has(p.stock.type)) wanted.set(p.stock.type, p.stock.fallbackFrom ?? p.stock.type);
  }
  return { candidates, wanted };
}

function keptReason(p: Prepared): string {
  switch (p.kind) {
    case 'router':
      return `MoE router: kept ${p.sourceType}, never quantized (its errors change which experts run)`;
    case 'shexp_gate':
      return `shared-expert gate: kept ${p.sourceType}, never quantized`;
    case 'norm':
      return `norm: kept ${p.sourceType}`;
    default:
      if (p.tensor.name.endsWith('.attn_sinks.weight'))
        return `attention sinks: kept ${p.sourceType} (one learned logit per head, never quantized)`;
      return p.tensor.shape.length <= 1
        ? `1-D tensor: kept ${p.sourceType}`
        : `kept ${p.sourceType}: llama.cpp does not quantize this tensor`;
  }
}

function fallbackReason(wanted: GgmlTypeName, held: GgmlTypeName, rowLength: number): string {
  return `rows of ${rowLength} do not split into ${wanted} blocks; llama.cpp uses ${held}`;
}

function planNotes(arch: ArchitectureInfo, planned: readonly PlannedTensor[]): string[] {
  const notes: string[] = [];
  const fallbacks = planned.filter((t) => t.fallback).length;
  if (fallbacks) notes.push(`${fallbacks} tensor(s) fall back to another type because their rows do not split into blocks`);
  if (arch.tiedEmbeddings) notes.push('tied embeddings: token_embd also serves as the output head');
  if (arch.moe) {
    const experts = planned.filter((t) => EXPERT_KINDS.has(t.kind)).length;
    notes.push(
      `MoE: ${arch.moe.numExperts} experts, ${arch.moe.numExpertsPerToken} per token; ${experts} stacked expert tensors; routers stay F32`,
    );
  }
  const preQuantized = planned.filter((t) => !isUnquantizedType(t.sourceType));
  const kept = preQuantized.filter((t) => t.ggufType === t.sourceType).length;
  const source = preQuantized[0]?.sourceType;
  if (kept) notes.push(`${kept} tensor(s) are already quantized in the source (${source}) and are kept`);
  if (kept < preQuantized.length)
    notes.push(
      `${preQuantized.length - kept} tensor(s) already quantized in the source (${source}) are requantized ` +
        `(llama-quantize --allow-requantize)`,
    );
  return notes;
}
