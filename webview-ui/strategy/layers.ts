/** The plan summarised per decoder layer: sizes, bits per weight, and where it departs from stock. */
import type { PlannedTensor, QuantPlan } from '../../src/protocol/core-types';

export interface LayerGroup {
  /** null: the tensors outside the blocks (embeddings, output head, final norm). */
  layer: number | null;
  tensors: PlannedTensor[];
  params: number;
  bytes: number;
  stockBytes: number;
  /** Parameter-weighted MLX bits (16 for tensors MLX keeps unquantized). */
  mlxBits: number;
  /** Tensors whose GGUF type differs from llama.cpp's stock recipe. */
  differs: number;
}

export const UNQUANTIZED_MLX_BITS = 16;

export function tensorParams(t: PlannedTensor): number {
  return t.shape.reduce((a, b) => a * b, 1);
}

export function groupByLayer(plan: QuantPlan): LayerGroup[] {
  const groups = new Map<number | null, LayerGroup>();
  for (const t of plan.tensors) {
    let g = groups.get(t.layer);
    if (!g) {
      g = { layer: t.layer, tensors: [], params: 0, bytes: 0, stockBytes: 0, mlxBits: 0, differs: 0 };
      groups.set(t.layer, g);
    }
    const n = tensorParams(t);
    g.tensors.push(t);
    g.params += n;
    g.bytes += t.bytes;
    g.stockBytes += t.stockBytes;
    g.mlxBits += n * (t.mlx ? t.mlx.bits : UNQUANTIZED_MLX_BITS);
    if (t.ggufType !== t.stockType) g.differs++;
  }
  for (const g of groups.values()) g.mlxBits = g.params ? g.mlxBits / g.params : 0;
  return [...groups.values()].sort((a, b) => (a.layer ?? -1) - (b.layer ?? -1));
}

export const bpw = (bytes: number, params: number): number => (params ? (bytes * 8) / params : 0);
