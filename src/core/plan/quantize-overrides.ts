/**
 * Turns a plan into llama-quantize's `--tensor-type-file` content. Every quantizable tensor's
 * type is stated explicitly (a match replaces llama.cpp's own choice), so the file holds what the
 * plan says and nothing is left to the stock recipe. Tensors of one kind and type are folded into
 * one pattern over their layers: llama-quantize tries every pattern on every tensor, and a pattern
 * per tensor would be quadratic on models with thousands of tensors.
 */
import { stockAllowsQuantization } from './classify';
import type { QuantPlan } from './types';

export function tensorTypeOverrides(plan: QuantPlan): string[] {
  const groups = new Map<string, { suffix: string; type: string; layers: number[] }>();
  const lines: string[] = [];
  for (const t of plan.tensors) {
    if (!stockAllowsQuantization(t.name, t.shape)) continue;
    const type = t.ggufType.toLowerCase();
    if (t.layer === null) {
      lines.push(`^${escapeRegex(t.name)}$=${type}`);
      continue;
    }
    const suffix = t.name.slice(`blk.${t.layer}.`.length);
    const key = `${suffix}=${type}`;
    const group = groups.get(key) ?? { suffix, type, layers: [] };
    group.layers.push(t.layer);
    groups.set(key, group);
  }
  for (const g of groups.values()) {
    lines.push(`^blk\\.(${g.layers.join('|')})\\.${escapeRegex(g.suffix)}$=${g.type}`);
  }
  return lines;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
