/**
 * The per-layer bit-width strip: one column per decoder layer, GGUF bits per weight on top (with
 * llama.cpp's stock recipe as a tick) and MLX bits below, so the layers the plan favours stand out.
 */
import { svg } from '../lib/dom';
import { bpw, type LayerGroup } from './layers';

const ROW_H = 44;
const GAP = 18;
const LABEL_W = 44;
/** Columns share this width, each between MIN_COL_W and MAX_COL_W. */
const STRIP_W = 640;
const MIN_COL_W = 6;
const MAX_COL_W = 28;

export function bitStrip(groups: LayerGroup[]): SVGSVGElement {
  const layers = groups.filter((g) => g.layer !== null);
  const colW = Math.min(MAX_COL_W, Math.max(MIN_COL_W, Math.floor(STRIP_W / Math.max(1, layers.length))));
  const width = LABEL_W + Math.max(1, layers.length) * colW;
  const tickEvery = layers.length <= 16 ? 1 : layers.length <= 64 ? 8 : 16;
  const height = ROW_H * 2 + GAP + 14;
  const gguf = layers.map((g) => bpw(g.bytes, g.params));
  const stock = layers.map((g) => bpw(g.stockBytes, g.params));
  const max = Math.max(8, ...gguf, ...stock, ...layers.map((g) => g.mlxBits));
  const root = svg('svg', {
    class: 'bit-strip',
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'img',
    'aria-label': 'Bits per weight by layer: GGUF above, MLX below',
  });
  root.append(
    svg('text', { x: 0, y: ROW_H / 2, class: 'strip-label' }, 'GGUF'),
    svg('text', { x: 0, y: ROW_H + GAP + ROW_H / 2, class: 'strip-label' }, 'MLX'),
  );
  layers.forEach((g, i) => {
    const x = LABEL_W + i * colW;
    const h = (v: number) => Math.max(1, (v / max) * (ROW_H - 2));
    const more = gguf[i]! > stock[i]! + 1e-9 ? 'more' : gguf[i]! < stock[i]! - 1e-9 ? 'fewer' : 'same';
    root.append(
      svg(
        'rect',
        { x: x + 1, y: ROW_H - h(gguf[i]!), width: colW - 2, height: h(gguf[i]!), class: `bar gguf ${more}` },
        svg('title', {}, `layer ${g.layer}: ${gguf[i]!.toFixed(2)} bpw (stock ${stock[i]!.toFixed(2)})`),
      ),
      svg('line', { x1: x, x2: x + colW, y1: ROW_H - h(stock[i]!), y2: ROW_H - h(stock[i]!), class: 'stock-tick' }),
      svg(
        'rect',
        { x: x + 1, y: ROW_H * 2 + GAP - h(g.mlxBits), width: colW - 2, height: h(g.mlxBits), class: 'bar mlx' },
        svg('title', {}, `layer ${g.layer}: MLX ${g.mlxBits.toFixed(2)} bits`),
      ),
    );
    if (g.layer! % tickEvery === 0) root.append(svg('text', { x: x + colW / 2, y: height - 2, class: 'strip-axis' }, String(g.layer)));
  });
  return root;
}
