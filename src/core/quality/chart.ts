/**
 * The size/quality chart of `pajamas compare` and the extension: an SVG with file size on x, mean
 * KL divergence against F16 on y (lower is better), one labelled point per artifact, coloured by
 * strategy and shaped by importance matrix (circle: none, diamond: imatrix). Pure string
 * generation, no DOM: the same function serves the CLI (a file next to the manifest) and the
 * webview.
 */

export interface ChartPoint {
  label: string;
  sizeBytes: number;
  kldMean: number;
  strategy: string;
  imatrix: boolean;
}

export interface ChartOptions {
  title?: string;
  width?: number;
  height?: number;
}

const DEFAULT_WIDTH = 720;
const DEFAULT_HEIGHT = 440;
const MARGIN = { top: 48, right: 200, bottom: 56, left: 84 };
const TARGET_TICKS = 5;
const POINT_RADIUS = 5;
/** One colour per strategy, in order of first appearance (colour-blind-safe palette). */
const PALETTE = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#000000'];

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** Round tick positions covering [min, max]: steps of 1, 2 or 5 times a power of ten. */
export function niceTicks(min: number, max: number, target = TARGET_TICKS): number[] {
  if (!(max > min)) max = min + (min === 0 ? 1 : Math.abs(min));
  const raw = (max - min) / target;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw)!;
  const first = Math.floor(min / step) * step;
  const ticks: number[] = [];
  for (let v = first; v < max + step * 0.999; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** The unit the x axis is labelled in: the largest binary unit below the biggest file. */
function sizeUnit(maxBytes: number): { name: string; bytes: number } {
  const units = [
    { name: 'GiB', bytes: 1024 ** 3 },
    { name: 'MiB', bytes: 1024 ** 2 },
    { name: 'KiB', bytes: 1024 },
  ];
  return units.find((u) => maxBytes >= u.bytes) ?? { name: 'B', bytes: 1 };
}

function formatTick(v: number): string {
  if (v === 0) return '0';
  const abs = Math.abs(v);
  if (abs >= 1000 || abs < 0.001) return v.toExponential(1);
  return String(Number(v.toPrecision(4)));
}

export function seriesName(p: Pick<ChartPoint, 'strategy' | 'imatrix'>): string {
  return `${p.strategy}${p.imatrix ? ' + imatrix' : ''}`;
}

function marker(x: number, y: number, imatrix: boolean, colour: string, title: string, cls = 'point'): string {
  const tip = `<title>${escapeXml(title)}</title>`;
  if (!imatrix)
    return `<circle class="${cls}" cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="${POINT_RADIUS}" fill="${colour}">${tip}</circle>`;
  const r = POINT_RADIUS + 1;
  const d =
    `M${x.toFixed(1)},${(y - r).toFixed(1)} L${(x + r).toFixed(1)},${y.toFixed(1)} L${x.toFixed(1)},${(y + r).toFixed(1)} ` +
    `L${(x - r).toFixed(1)},${y.toFixed(1)} Z`;
  return `<path class="${cls}" d="${d}" fill="${colour}">${tip}</path>`;
}

export function qualityChartSvg(points: readonly ChartPoint[], opts: ChartOptions = {}): string {
  const width = opts.width ?? DEFAULT_WIDTH;
  const height = opts.height ?? DEFAULT_HEIGHT;
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const title = opts.title ?? 'File size vs. mean KL divergence against F16 (lower is better)';
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text class="title" x="${width / 2}" y="24" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`,
  ];
  const valid = points.filter((p) => Number.isFinite(p.sizeBytes) && Number.isFinite(p.kldMean));
  if (!valid.length) {
    parts.push(`<text class="empty" x="${width / 2}" y="${height / 2}" text-anchor="middle">no evaluated artifacts</text>`, '</svg>');
    return parts.join('\n');
  }
  const unit = sizeUnit(Math.max(...valid.map((p) => p.sizeBytes)));
  const sizes = valid.map((p) => p.sizeBytes / unit.bytes);
  const xTicks = niceTicks(Math.min(...sizes) * 0.95, Math.max(...sizes) * 1.05);
  const yTicks = niceTicks(0, Math.max(...valid.map((p) => p.kldMean)) * 1.1);
  const [x0, x1] = [xTicks[0]!, xTicks[xTicks.length - 1]!];
  const [y0, y1] = [yTicks[0]!, yTicks[yTicks.length - 1]!];
  const sx = (v: number) => MARGIN.left + ((v - x0) / (x1 - x0)) * plotW;
  const sy = (v: number) => MARGIN.top + plotH - ((v - y0) / (y1 - y0)) * plotH;

  parts.push(...axes(xTicks, yTicks, sx, sy, plotW, plotH, unit.name));
  const colours = new Map<string, string>();
  for (const p of valid) if (!colours.has(p.strategy)) colours.set(p.strategy, PALETTE[colours.size % PALETTE.length]!);
  const at = valid.map((p) => ({ x: sx(p.sizeBytes / unit.bytes), y: sy(p.kldMean) }));
  const labelY = spreadLabels(at.map((a) => ({ x: a.x + 8, y: a.y - 8 })));
  valid.forEach((p, i) => {
    const { x, y } = at[i]!;
    const colour = colours.get(p.strategy)!;
    parts.push(
      `<g class="artifact">`,
      marker(
        x,
        y,
        p.imatrix,
        colour,
        `${p.label}: ${(p.sizeBytes / unit.bytes).toFixed(2)} ${unit.name}, mean KLD ${p.kldMean.toFixed(6)}`,
      ),
      `<text class="label" x="${(x + 8).toFixed(1)}" y="${labelY[i]!.toFixed(1)}" font-size="11">${escapeXml(p.label)}</text>`,
      `</g>`,
    );
  });
  parts.push(...legend(valid, colours, width), '</svg>');
  return parts.join('\n');
}

const LABEL_LINE = 13;
const LABEL_WIDTH = 130;

/**
 * Label baselines that do not overlap: artifacts of the same size and near-equal KLD would print
 * their names on top of each other, so a label that collides with one placed before moves down.
 */
function spreadLabels(anchors: readonly { x: number; y: number }[]): number[] {
  const order = anchors.map((_, i) => i).sort((a, b) => anchors[a]!.y - anchors[b]!.y);
  const placed: { x: number; y: number }[] = [];
  const ys = anchors.map((a) => a.y);
  for (const i of order) {
    let y = anchors[i]!.y;
    const x = anchors[i]!.x;
    while (placed.some((p) => Math.abs(p.x - x) < LABEL_WIDTH && Math.abs(p.y - y) < LABEL_LINE)) y += LABEL_LINE;
    ys[i] = y;
    placed.push({ x, y });
  }
  return ys;
}

function axes(
  xTicks: number[],
  yTicks: number[],
  sx: (v: number) => number,
  sy: (v: number) => number,
  plotW: number,
  plotH: number,
  unit: string,
): string[] {
  const left = MARGIN.left;
  const bottom = MARGIN.top + plotH;
  const out = [
    `<g class="axis x-axis">`,
    `<line x1="${left}" y1="${bottom}" x2="${left + plotW}" y2="${bottom}" stroke="#333"/>`,
    ...xTicks.map(
      (t) =>
        `<g class="tick"><line x1="${sx(t).toFixed(1)}" y1="${bottom}" x2="${sx(t).toFixed(1)}" y2="${bottom + 5}" stroke="#333"/>` +
        `<text x="${sx(t).toFixed(1)}" y="${bottom + 18}" text-anchor="middle">${formatTick(t)}</text></g>`,
    ),
    `<text class="axis-title" x="${left + plotW / 2}" y="${bottom + 42}" text-anchor="middle">file size (${unit})</text>`,
    `</g>`,
    `<g class="axis y-axis">`,
    `<line x1="${left}" y1="${MARGIN.top}" x2="${left}" y2="${bottom}" stroke="#333"/>`,
    ...yTicks.map(
      (t) =>
        `<g class="tick"><line x1="${left - 5}" y1="${sy(t).toFixed(1)}" x2="${left}" y2="${sy(t).toFixed(1)}" stroke="#333"/>` +
        `<line x1="${left}" y1="${sy(t).toFixed(1)}" x2="${left + plotW}" y2="${sy(t).toFixed(1)}" stroke="#e5e5e5"/>` +
        `<text x="${left - 8}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end">${formatTick(t)}</text></g>`,
    ),
    `<text class="axis-title" transform="translate(20 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">mean KL divergence ` +
      `vs F16</text>`,
    `</g>`,
  ];
  return out;
}

function legend(points: readonly ChartPoint[], colours: Map<string, string>, width: number): string[] {
  const series = [...new Map(points.map((p) => [seriesName(p), p])).values()];
  const x = width - MARGIN.right + 24;
  const out = [`<g class="legend">`];
  series.forEach((p, i) => {
    const y = MARGIN.top + 10 + i * 22;
    out.push(
      `<g class="legend-item">${marker(x, y, p.imatrix, colours.get(p.strategy)!, seriesName(p), 'legend-marker')}<text x="${x + 14}" ` +
        `y="${y + 4}">${escapeXml(seriesName(p))}</text></g>`,
    );
  });
  out.push('</g>');
  return out;
}
