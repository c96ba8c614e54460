/** The job: progress while it runs (Cancel in the form), then the artifacts, their quality and the chart. */
import type { Artifact, Progress } from '../../src/protocol/core-types';
import type { ErrorView, JobView } from '../../src/protocol/strategy-view';
import type { QuantizeResult } from '../../src/protocol/worker';
import { el, svgDataUrl } from '../lib/dom';
import { formatBytes, formatDuration, formatNumber } from '../lib/format';

export interface JobViewEvents {
  openManifest(path: string): void;
  reveal(path: string): void;
  chat(manifestPath: string, artifactId: string): void;
}

export function jobSection(job: JobView, events: JobViewEvents): HTMLElement {
  switch (job.state) {
    case 'running':
      return section('running', 'Quantizing…', progressBlock(job.progress, job.startedAt));
    case 'cancelled':
      return section(
        'cancelled',
        'Cancelled',
        el('p', {}, 'The job stopped; nothing half-written was kept. Artifacts finished before the cancel stay in the manifest.'),
      );
    case 'failed':
      return section('failed', 'Failed', errorBlock(job.error));
    case 'done':
      return section('done', 'Results', ...results(job.result, events));
    default:
      return assertNever(job);
  }
}

function section(state: string, title: string, ...children: (HTMLElement | null)[]): HTMLElement {
  return el('section', { class: `card job ${state}`, 'aria-label': 'Job', 'data-state': state }, el('h2', {}, title), ...children);
}

function progressBlock(p: Progress | null, startedAt: number): HTMLElement {
  const determinate = p?.total !== undefined && p.total > 0 && p.done !== undefined;
  const bar = el('vscode-progress-bar', { 'aria-label': 'Progress' });
  if (determinate) {
    bar.max = p.total!;
    bar.value = p.done!;
  } else bar.indeterminate = true;
  const pct = determinate ? ` ${Math.round((p.done! / p.total!) * 100)}%` : '';
  const amount = determinate
    ? p.unit === 'bytes'
      ? ` (${formatBytes(p.done!)} of ${formatBytes(p.total!)})`
      : ` (${p.done} of ${p.total}${p.unit ? ` ${p.unit}` : ''})`
    : '';
  return el(
    'div',
    { class: 'progress' },
    bar,
    el('div', { class: 'progress-step' }, el('strong', {}, p?.step ?? 'starting'), pct, amount),
    p?.message ? el('div', { class: 'progress-message' }, p.message) : null,
    el('div', { class: 'progress-elapsed', 'data-started': startedAt }, `elapsed ${formatDuration(Date.now() - startedAt)}`),
  );
}

/** Advances the "elapsed" line of a running job between progress messages. */
export function tickElapsed(root: ParentNode): void {
  const line = root.querySelector<HTMLElement>('.progress-elapsed[data-started]');
  if (line) line.textContent = `elapsed ${formatDuration(Date.now() - Number(line.dataset.started))}`;
}

export function errorBlock(error: ErrorView): HTMLElement {
  return el(
    'div',
    { class: 'error', role: 'alert' },
    el('span', { class: 'codicon codicon-error' }),
    el('div', {}, el('pre', { class: 'error-message' }, error.message), error.hint ? el('p', { class: 'hint' }, error.hint) : null),
  );
}

function results(r: QuantizeResult, events: JobViewEvents): HTMLElement[] {
  const m = r.manifest;
  const folder = r.manifestPath.replace(/[\\/][^\\/]*$/, '');
  const head = ['Artifact', 'Format', 'Target', 'Strategy', 'Size', 'bpw', 'PPL', 'Mean KLD', 'Top-1', 'Gate', '', ''];
  const rows = m.artifacts.map((a) => artifactRow(a, r, events));
  const baseline = m.baseline?.quality
    ? `F16 perplexity ${formatNumber(m.baseline.quality.ppl, 4)} on ${m.baseline.quality.text.name}`
    : null;
  const openManifest = el('vscode-button', { icon: 'json', id: 'open-manifest' }, 'Open manifest');
  openManifest.addEventListener('click', () => events.openManifest(r.manifestPath));
  const reveal = el('vscode-button', { icon: 'folder-opened', secondary: true, id: 'reveal' }, 'Reveal');
  reveal.addEventListener('click', () => events.reveal(folder));
  const out: HTMLElement[] = [
    el('p', {}, `${r.built.length} built, ${r.skipped.length} unchanged and kept, in ${formatDuration(r.totalMs)}. `, baseline ?? ''),
    el(
      'table',
      { class: 'artifacts' },
      el('thead', {}, el('tr', {}, ...head.map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, ...rows),
    ),
  ];
  if (r.gateFailures?.length) out.push(el('p', { class: 'gate-failed' }, `Failed the quality gate: ${r.gateFailures.join(', ')}`));
  if (r.chartSvg) {
    out.push(el('img', { class: 'chart', alt: 'File size against mean KL divergence', src: svgDataUrl(r.chartSvg) }));
  }
  out.push(el('div', { class: 'actions' }, openManifest, reveal));
  return out;
}

/** The strategy, and when the check against stock kept llama.cpp's file under this name, that and why. */
function strategyCell(a: Artifact): HTMLElement {
  const text = `${a.strategy}${a.imatrix ? ' + imatrix' : ''}`;
  const check = a.format === 'gguf' ? a.stockCheck : null;
  if (check?.kept !== 'stock') return el('td', {}, text);
  return el('td', { title: check.reason }, `${text} (stock kept)`);
}

function artifactRow(a: Artifact, r: QuantizeResult, events: JobViewEvents): HTMLElement {
  const q = a.quality;
  const gate = q?.gate ? (q.gate.passed ? 'passed' : 'failed') : '—';
  const state = r.built.includes(a.path) ? 'built' : r.skipped.includes(a.path) ? 'unchanged' : 'kept';
  const chat = el('vscode-button', { icon: 'comment-discussion', secondary: true, class: 'chat', title: `Chat with ${a.id}` }, 'Chat');
  chat.addEventListener('click', () => events.chat(r.manifestPath, a.id));
  return el(
    'tr',
    { 'data-artifact': a.id },
    el('td', { class: 'mono' }, a.path),
    el('td', {}, a.format.toUpperCase()),
    el('td', {}, a.target),
    strategyCell(a),
    el('td', { class: 'num' }, formatBytes(a.sizeBytes)),
    el('td', { class: 'num' }, a.bpw.toFixed(2)),
    el('td', { class: 'num' }, formatNumber(q?.ppl, 4)),
    el('td', { class: 'num' }, formatNumber(q?.kldMean, 3)),
    el('td', { class: 'num' }, q?.top1 === null || q?.top1 === undefined ? '—' : `${(q.top1 * 100).toFixed(1)}%`),
    el('td', { class: `gate ${gate}` }, gate),
    el('td', { class: 'state' }, state),
    el('td', {}, chat),
  );
}

function assertNever(x: never): never {
  throw new Error(`unexpected job state ${JSON.stringify(x)}`);
}
