/**
 * Bits per weight by decoder layer, one line per artifact (read by the worker from the artifacts'
 * headers), so where a plan spends its bits shows at a glance and artifacts compare layer by layer.
 */
import type { LayerBits } from '../../src/protocol/manifest-editor';
import { el, svg } from '../lib/dom';

const W = 640;
const H = 220;
const PAD = { left: 40, right: 12, top: 10, bottom: 28 };
/** Theme colours for the lines, in order. */
const COLOURS = ['blue', 'orange', 'green', 'purple', 'red', 'yellow'];

export function layerBitsChart(series: LayerBits[]): HTMLElement {
  const drawable = series.filter((s) => s.layers.some((v) => v !== null));
  const failed = series.filter((s) => s.error);
  const notes = failed.map((s) => el('li', {}, `${s.artifactId}: ${s.error}`));
  if (!drawable.length)
    return el(
      'div',
      { class: 'layer-chart empty' },
      el('p', { class: 'muted' }, 'No artifact file could be read for its layers.'),
      notes.length ? el('ul', { class: 'warnings' }, ...notes) : null,
    );
  const layers = Math.max(...drawable.map((s) => s.layers.length));
  const values = drawable.flatMap((s) => s.layers.filter((v): v is number => v !== null));
  const top = Math.ceil(Math.max(...values) + 0.5);
  const bottom = Math.max(0, Math.floor(Math.min(...values) - 0.5));
  const x = (i: number) => PAD.left + (layers <= 1 ? 0 : (i / (layers - 1)) * (W - PAD.left - PAD.right));
  const y = (v: number) => PAD.top + (1 - (v - bottom) / (top - bottom || 1)) * (H - PAD.top - PAD.bottom);
  const root = svg('svg', {
    class: 'layer-bits',
    viewBox: `0 0 ${W} ${H}`,
    role: 'img',
    'aria-label': 'Bits per weight by layer, one line per artifact',
  });
  for (let v = bottom; v <= top; v++) {
    root.append(
      svg('line', { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), class: 'grid' }),
      svg('text', { x: PAD.left - 6, y: y(v) + 3, class: 'axis', 'text-anchor': 'end' }, String(v)),
    );
  }
  const step = Math.max(1, Math.ceil(layers / 12));
  for (let i = 0; i < layers; i += step)
    root.append(svg('text', { x: x(i), y: H - 10, class: 'axis', 'text-anchor': 'middle' }, String(i)));
  root.append(svg('text', { x: W - PAD.right, y: H - 10, class: 'axis', 'text-anchor': 'end' }, 'layer'));
  const legend = el('div', { class: 'legend' });
  drawable.forEach((s, k) => {
    const colour = COLOURS[k % COLOURS.length]!;
    const points = s.layers.flatMap((v, i) => (v === null ? [] : [`${x(i).toFixed(1)},${y(v).toFixed(1)}`]));
    root.append(svg('polyline', { points: points.join(' '), class: `series ${colour}` }, svg('title', {}, s.artifactId)));
    s.layers.forEach((v, i) => {
      if (v !== null)
        root.append(
          svg(
            'circle',
            { cx: x(i), cy: y(v), r: 2.5, class: `dot ${colour}` },
            svg('title', {}, `${s.artifactId}, layer ${i}: ${v.toFixed(2)} bpw`),
          ),
        );
    });
    const outside = s.outside === null ? '' : ` (outside the blocks ${s.outside.toFixed(2)})`;
    legend.append(el('span', { class: 'legend-item' }, el('span', { class: `swatch ${colour}` }), `${s.artifactId}${outside}`));
  });
  return el('div', { class: 'layer-chart' }, root, legend, notes.length ? el('ul', { class: 'warnings' }, ...notes) : null);
}
