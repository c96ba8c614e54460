/**
 * Text renderings of a plan: the full table (grouped by layer and tensor kind; runs of layers that
 * get the same types are printed once) and a short summary for the extension's output channel.
 */
import { formatBytes } from '../units';
import type { PlannedTensor, QuantPlan, TensorKind } from './types';

export function formatPlan(plan: QuantPlan): string {
  const lines: string[] = [`Plan: ${plan.strategy} strategy, target ${plan.target}`];
  const outside = plan.tensors.filter((t) => t.layer === null);
  if (outside.length) {
    lines.push('', 'outside the blocks:');
    lines.push(...outside.map((t) => tensorLine(t.name, t)));
  }
  for (const group of groupLayers(plan.tensors)) {
    const range = group.first === group.last ? `layer ${group.first}` : `layers ${group.first}-${group.last}`;
    lines.push('', `${range}:`);
    lines.push(...group.tensors.map((t) => tensorLine(t.name.replace(/^blk\.\d+\./, ''), t)));
  }
  lines.push('', ...formatTotals(plan));
  if (plan.notes.length) lines.push('', ...plan.notes.map((n) => `note: ${n}`));
  return lines.join('\n');
}

/** A few lines: what was planned, how big it is, and how it compares with the stock recipe. */
export function formatPlanSummary(plan: QuantPlan): string {
  const counts = new Map<string, number>();
  for (const t of plan.tensors) counts.set(t.ggufType, (counts.get(t.ggufType) ?? 0) + 1);
  const histogram = [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([type, n]) => `${type} x${n}`)
    .join(', ');
  const raised = plan.tensors.filter((t) => t.bytes > t.stockBytes).length;
  const lowered = plan.tensors.filter((t) => t.bytes < t.stockBytes).length;
  return [
    `Plan (${plan.strategy}, ${plan.target}): ${plan.tensors.length} tensors; ${histogram}`,
    ...formatTotals(plan),
    plan.strategy === 'pajamas' ? `Versus stock: ${raised} tensor(s) get more bits, ${lowered} fewer` : 'Identical to the stock recipe',
    ...plan.notes.map((n) => `Note: ${n}`),
  ].join('\n');
}

function formatTotals(plan: QuantPlan): string[] {
  const t = plan.totals;
  const delta = t.sizeBytes - t.stockSizeBytes;
  const pct = t.stockSizeBytes ? ((delta / t.stockSizeBytes) * 100).toFixed(1) : '0.0';
  return [
    `GGUF: ${formatBytes(t.sizeBytes)} (${t.bpw.toFixed(2)} bpw); ` +
      `stock ${plan.target}: ${formatBytes(t.stockSizeBytes)} (${t.stockBpw.toFixed(2)} bpw); ` +
      `difference ${delta >= 0 ? '+' : ''}${formatBytes(delta)} (${delta >= 0 ? '+' : ''}${pct}%)`,
    `MLX: ${formatBytes(t.mlxSizeBytes)} (${t.mlxBpw.toFixed(2)} bpw; ` +
      `body ${plan.mlxDefault.bits}-bit, group ${plan.mlxDefault.groupSize})`,
    `Parameters: ${t.parameters.toLocaleString('en-US')}`,
  ];
}

function tensorLine(label: string, t: PlannedTensor): string {
  const stock = t.ggufType === t.stockType ? '' : ` (stock ${t.stockType})`;
  const mlx = t.mlx ? `mlx ${t.mlx.bits}b/${t.mlx.groupSize}` : 'mlx keep';
  const fallback = t.fallback ? `; ${t.fallback.reason}` : '';
  const types = `${t.ggufType}${stock}`.padEnd(18);
  const shape = `[${t.shape.join(', ')}]`.padEnd(20);
  return `  ${label.padEnd(24)} ${types} ${shape} ${mlx.padEnd(13)} ${t.reason}${fallback}`;
}

/** Reading order inside a block: attention, then the feed-forward network, then the rest. */
const KIND_ORDER: readonly TensorKind[] = [
  'norm',
  'attn_q',
  'attn_q_a',
  'attn_q_b',
  'attn_k',
  'attn_v',
  'attn_qkv',
  'attn_kv_a',
  'attn_kv_b',
  'attn_k_b',
  'attn_v_b',
  'attn_output',
  'linear_attn',
  'ssm',
  'router',
  'ffn_gate',
  'ffn_up',
  'ffn_down',
  'ffn_gate_exps',
  'ffn_up_exps',
  'ffn_down_exps',
  'shexp_gate',
  'ffn_gate_shexp',
  'ffn_up_shexp',
  'ffn_down_shexp',
  'other',
];

function kindRank(t: PlannedTensor): number {
  const i = KIND_ORDER.indexOf(t.kind);
  return i < 0 ? KIND_ORDER.length : i;
}

interface LayerGroup {
  first: number;
  last: number;
  tensors: PlannedTensor[];
}

/** Consecutive layers whose tensors get the same types and reasons are printed once. */
function groupLayers(tensors: readonly PlannedTensor[]): LayerGroup[] {
  const byLayer = new Map<number, PlannedTensor[]>();
  for (const t of tensors) {
    if (t.layer === null) continue;
    const list = byLayer.get(t.layer) ?? [];
    list.push(t);
    byLayer.set(t.layer, list);
  }
  const signature = (list: PlannedTensor[]) =>
    list.map((t) => `${t.name.replace(/^blk\.\d+\./, '')}:${t.ggufType}:${t.stockType}:${t.shape.join('x')}:${t.reason}`).join('|');
  const groups: LayerGroup[] = [];
  for (const layer of [...byLayer.keys()].sort((a, b) => a - b)) {
    const list = byLayer.get(layer)!.sort((a, b) => kindRank(a) - kindRank(b) || a.name.localeCompare(b.name));
    const last = groups[groups.length - 1];
    if (last && last.last === layer - 1 && signature(last.tensors) === signature(list)) last.last = layer;
    else groups.push({ first: layer, last: layer, tensors: list });
  }
  return groups;
}
