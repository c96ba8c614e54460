/** The architecture card: what the worker detected, in the terms the plan's rules use. */
import type { ArchitectureInfo, Recommendation } from '../../src/protocol/core-types';
import { el } from '../lib/dom';
import { formatCount } from '../lib/format';

type Fact = [label: string, value: string];

export function architectureFacts(a: ArchitectureInfo): Fact[] {
  const facts: Fact[] = [
    ['Model type', a.architectures.length ? `${a.modelType} (${a.architectures.join(', ')})` : a.modelType],
    ['Family', a.family.replace('_', ' + ')],
    ['Attention', attention(a)],
    ['Layers', layers(a)],
    ['Context', a.contextLength.toLocaleString('en-US')],
    ['Parameters', parameters(a)],
  ];
  if (a.slidingWindow !== null) facts.push(['Sliding window', `${a.slidingWindow.toLocaleString('en-US')} tokens (${a.attentionPattern})`]);
  if (a.moe) {
    const m = a.moe;
    const shared = m.numSharedExperts ? `, ${m.numSharedExperts} shared` : '';
    const dense = m.denseLayers.length ? `; ${m.denseLayers.length} dense layer(s)` : '';
    facts.push(['Experts', `${m.numExperts} total, ${m.numExpertsPerToken} active per token${shared}${dense}`]);
  }
  if (a.mla) facts.push(['MLA', `KV latent rank ${a.mla.kvLoraRank}${a.mla.qLoraRank ? `, query rank ${a.mla.qLoraRank}` : ''}`]);
  facts.push(['Embeddings', a.tiedEmbeddings ? 'tied with the output head' : 'separate output head']);
  if (a.sourceQuantization) facts.push(['Source quantization', a.sourceQuantization.method]);
  if (a.dtype) facts.push(['Weights', a.dtype]);
  return facts;
}

function attention(a: ArchitectureInfo): string {
  if (a.numAttentionHeads === 0) return 'none (state-space model)';
  const kind = a.attention.toUpperCase();
  if (a.gqaRatio !== null && a.numKeyValueHeads !== null && a.numKeyValueHeads < a.numAttentionHeads) {
    const ratio = Number.isInteger(a.gqaRatio) ? a.gqaRatio : a.gqaRatio.toFixed(2);
    return `${kind}, ratio ${ratio}:1 (${a.numAttentionHeads} query heads, ${a.numKeyValueHeads} KV)`;
  }
  return `${kind}, ${a.numAttentionHeads} heads`;
}

function layers(a: ArchitectureInfo): string {
  const counts = new Map<string, number>();
  for (const t of a.layerTypes) counts.set(t, (counts.get(t) ?? 0) + 1);
  if (counts.size <= 1) return String(a.numLayers);
  const mix = [...counts].map(([t, n]) => `${n} ${t.replace(/_/g, ' ')}`).join(', ');
  return `${a.numLayers} (${mix})`;
}

function parameters(a: ArchitectureInfo): string {
  const { total, active } = a.parameters;
  const source = a.parametersSource === 'weights' ? 'counted from the weights' : 'computed from the config';
  return active < total ? `${formatCount(total)} total, ${formatCount(active)} active (${source})` : `${formatCount(total)} (${source})`;
}

export function architectureCard(a: ArchitectureInfo, r: Recommendation): HTMLElement {
  const list = el('dl', { class: 'facts' });
  for (const [label, value] of architectureFacts(a)) list.append(el('dt', {}, label), el('dd', {}, value));
  return el(
    'section',
    { class: 'card arch', 'aria-label': 'Architecture' },
    el('h2', {}, 'Architecture'),
    list,
    el(
      'p',
      { class: 'recommend' },
      el('span', { class: 'codicon codicon-lightbulb' }),
      ' Recommended: ',
      el('strong', {}, r.ggufMethod),
      ` (${r.why.replace(/^[A-Z0-9_]+: /, '')})`,
    ),
    r.specialHandling.length ? el('ul', { class: 'special' }, ...r.specialHandling.map((s) => el('li', {}, s))) : null,
    a.warnings.length ? el('ul', { class: 'warnings' }, ...a.warnings.map((w) => el('li', {}, w))) : null,
  );
}
