/**
 * The plan: totals against llama.cpp's stock recipe, the per-layer bit-width strip, notes, and the
 * per-tensor table grouped by layer (each layer's rows are built when it is opened, so a model with
 * hundreds of layers renders at once).
 */
import type { PlannedTensor } from '../../src/protocol/core-types';
import type { PlanResult } from '../../src/protocol/worker';
import { el } from '../lib/dom';
import { formatBytes, formatPercent } from '../lib/format';
import { bitStrip } from './bit-strip';
import { bpw, groupByLayer, type LayerGroup } from './layers';

const ORIGIN: Record<PlanResult['origin'], string> = {
  gguf: 'tensors listed from the GGUF file',
  weights: 'tensors listed from the safetensors headers',
  config: 'tensors implied by config.json (no weights read)',
};

export interface PlanViewState {
  openLayers: string[];
}

export function planTotals({ plan }: PlanResult): HTMLElement {
  const t = plan.totals;
  const delta = t.stockSizeBytes ? (t.sizeBytes - t.stockSizeBytes) / t.stockSizeBytes : 0;
  const changed = plan.tensors.filter((x) => x.ggufType !== x.stockType).length;
  return el(
    'div',
    { class: 'totals' },
    total('Predicted GGUF', `${formatBytes(t.sizeBytes)}`, `${t.bpw.toFixed(2)} bpw`),
    total(`Stock ${plan.target}`, formatBytes(t.stockSizeBytes), `${t.stockBpw.toFixed(2)} bpw`),
    total('Difference', formatPercent(delta), `${changed} of ${plan.tensors.length} tensors differ`),
    total('Predicted MLX', formatBytes(t.mlxSizeBytes), `${t.mlxBpw.toFixed(2)} bpw, body ${plan.mlxDefault.bits}-bit`),
  );
}

function total(label: string, value: string, detail: string): HTMLElement {
  return el(
    'div',
    { class: 'total' },
    el('div', { class: 'total-label' }, label),
    el('div', { class: 'total-value' }, value),
    el('div', { class: 'total-detail' }, detail),
  );
}

export function planBody(result: PlanResult, state: PlanViewState, onToggle: (key: string, open: boolean) => void): HTMLElement {
  const groups = groupByLayer(result.plan);
  const notes = result.plan.notes;
  return el(
    'div',
    { class: 'plan-body' },
    el(
      'div',
      { class: 'strip-wrap' },
      bitStrip(groups),
      el(
        'div',
        { class: 'legend' },
        legend('more', 'more bits than stock'),
        legend('fewer', 'fewer bits than stock'),
        legend('same', 'as stock'),
        legend('mlx', 'MLX bits'),
      ),
    ),
    el('p', { class: 'origin' }, ORIGIN[result.origin], ` · planned in ${result.elapsedMs.toFixed(0)} ms`),
    notes.length ? el('ul', { class: 'notes' }, ...notes.map((n) => el('li', {}, n))) : null,
    el('div', { class: 'layers', role: 'list' }, ...groups.map((g) => layerGroup(g, state, onToggle))),
  );
}

function legend(cls: string, label: string): HTMLElement {
  return el('span', { class: 'legend-item' }, el('span', { class: `swatch ${cls}` }), label);
}

function groupKey(g: LayerGroup): string {
  return g.layer === null ? 'outside' : `layer-${g.layer}`;
}

function layerGroup(g: LayerGroup, state: PlanViewState, onToggle: (key: string, open: boolean) => void): HTMLElement {
  const key = groupKey(g);
  const label = g.layer === null ? 'Outside the blocks' : `Layer ${g.layer}`;
  const own = bpw(g.bytes, g.params);
  const stock = bpw(g.stockBytes, g.params);
  const summary = el(
    'summary',
    {},
    el('span', { class: 'layer-name' }, label),
    el(
      'span',
      { class: 'layer-meta' },
      `${g.tensors.length} tensors · ${formatBytes(g.bytes)} · ${own.toFixed(2)} bpw (stock ${stock.toFixed(2)})` +
        ` · MLX ${g.mlxBits.toFixed(2)} bits`,
    ),
    g.differs ? el('span', { class: 'differs-badge' }, `${g.differs} differ from stock`) : null,
  );
  const details = el('details', { class: 'layer', 'data-key': key, role: 'listitem' }, summary);
  let built = false;
  const build = () => {
    if (built) return;
    built = true;
    details.append(tensorTable(g.tensors));
  };
  details.addEventListener('toggle', () => {
    if (details.open) build();
    onToggle(key, details.open);
  });
  if (state.openLayers.includes(key)) {
    build();
    details.open = true;
  }
  return details;
}

function tensorTable(tensors: PlannedTensor[]): HTMLElement {
  const head = el(
    'tr',
    {},
    ...['Tensor', 'Kind', 'Shape', 'GGUF', 'Stock', 'MLX', 'Size', 'Why'].map((h) => el('th', { scope: 'col' }, h)),
  );
  const rows = tensors.map((t) => {
    const differs = t.ggufType !== t.stockType;
    const why = t.fallback ? `${t.reason}; ${t.fallback.reason}` : t.reason;
    return el(
      'tr',
      { class: differs ? 'differs' : '' },
      el('td', { class: 'mono' }, t.name.replace(/^blk\.\d+\./, '')),
      el('td', {}, t.kind),
      el('td', { class: 'mono' }, t.shape.join(' × ')),
      el('td', { class: 'mono type' }, t.ggufType),
      el('td', { class: 'mono' }, differs ? t.stockType : '='),
      el('td', { class: 'mono' }, t.mlx ? `${t.mlx.bits}-bit/${t.mlx.groupSize}` : 'keep'),
      el('td', { class: 'num' }, formatBytes(t.bytes)),
      el('td', { class: 'why' }, why),
    );
  });
  return el('table', { class: 'tensors' }, el('thead', {}, head), el('tbody', {}, ...rows));
}
