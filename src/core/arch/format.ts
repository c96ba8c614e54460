/**
 * The human-readable detection block printed by `pajamas detect` and the "Show Architecture"
 * command. The first lines follow the layout exactly; lines about sliding windows, MoE,
 * MLA, hybrid layer mixes and source quantization appear only when they apply.
 */
import type { ArchitectureInfo, LayerKind } from './types';

export function formatArchitecture(info: ArchitectureInfo): string {
  const lines = [`ArchitectureInfo(${info.source})`];
  const add = (label: string, value: string | number) => lines.push(`  ${label}: ${value}`);
  add('Type', info.modelType);
  add('Family', info.family);
  add('Parameters', formatParameters(info));
  add('Attention', info.numAttentionHeads === 0 ? 'none (state-space model)' : info.attention);
  if (info.gqaRatio !== null && info.numKeyValueHeads !== null && info.numKeyValueHeads < info.numAttentionHeads) {
    add('GQA Ratio', `${formatRatio(info.gqaRatio)}:1 (${info.numAttentionHeads} query, ${info.numKeyValueHeads} KV)`);
  }
  if (info.mla) {
    const m = info.mla;
    const q = m.qLoraRank === null ? 'direct queries' : `q_lora ${m.qLoraRank}`;
    add(
      'MLA',
      `kv_lora ${m.kvLoraRank}, ${q}, head dim ${info.headDim} (${m.qkNopeHeadDim} nope + ${m.qkRopeHeadDim} rope), v ${m.vHeadDim}`,
    );
  }
  add('Layers', info.numLayers);
  if (info.attentionPattern !== 'uniform' || new Set(info.layerTypes).size > 1) add('Layer mix', layerMix(info.layerTypes));
  add('Context', info.contextLength);
  if (info.slidingWindow !== null) add('Sliding window', `${info.slidingWindow} (${info.attentionPattern})`);
  if (info.moe) {
    const m = info.moe;
    const shared = m.numSharedExperts > 0 ? `, ${m.numSharedExperts} shared (width ${m.sharedIntermediateSize})` : '';
    const dense = m.denseLayers.length ? `; dense FFN layers ${formatLayerList(m.denseLayers)}` : '';
    add('MoE', `${m.numExperts} experts, ${m.numExpertsPerToken} per token (width ${m.expertIntermediateSize})${shared}${dense}`);
  }
  if (info.attentionSinks) add('Attention sinks', 'yes');
  if (info.finalLogitSoftcap !== null) add('Final logit soft-cap', info.finalLogitSoftcap);
  if (info.sourceQuantization) add('Source quantization', info.sourceQuantization.method);
  for (const w of info.warnings) lines.push(`  Warning: ${w}`);
  return lines.join('\n');
}

/** "8.2B", or "30.5B (3.3B active)" for a mixture of experts. */
export function formatParameters(info: ArchitectureInfo): string {
  const { total, active } = info.parameters;
  const base = formatParameterCount(total);
  return active < total ? `${base} (${formatParameterCount(active)} active)` : base;
}

export function formatParameterCount(n: number): string {
  const units: Array<[number, string]> = [
    [1e12, 'T'],
    [1e9, 'B'],
    [1e6, 'M'],
    [1e3, 'K'],
  ];
  for (const [scale, suffix] of units) {
    if (n >= scale) {
      const v = n / scale;
      const digits = suffix === 'T' ? 2 : v >= 100 ? 0 : 1;
      return `${v.toFixed(digits)}${suffix}`;
    }
  }
  return String(n);
}

function formatRatio(r: number): string {
  return Number.isInteger(r) ? String(r) : r.toFixed(2);
}

function layerMix(types: readonly LayerKind[]): string {
  const counts = new Map<LayerKind, number>();
  for (const t of types) counts.set(t, (counts.get(t) ?? 0) + 1);
  return [...counts].map(([t, n]) => `${n} ${t}`).join(', ');
}

/** "0-2", "0, 5, 7-9". */
function formatLayerList(layers: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < layers.length;) {
    let j = i;
    while (j + 1 < layers.length && layers[j + 1] === layers[j]! + 1) j++;
    parts.push(i === j ? String(layers[i]) : `${layers[i]}-${layers[j]}`);
    i = j + 1;
  }
  return parts.join(', ');
}
