/**
 * The manifest editor's page: a Llama-Pajamas manifest.json as a document (source model,
 * architecture, artifacts with their quality and Verify/Chat/Reveal, the size-vs-KLD and
 * bits-per-layer charts), or its errors with their lines when the text is not a valid manifest.
 * Data arrives only by message (`ready` -> `init`, then `doc` on every edit, `verify` while a
 * verification runs); the page never changes the file.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import './manifest.css';
import type { Manifest } from '../src/protocol/core-types';
import type {
  ManifestDocView,
  ManifestHostToView,
  ManifestInspection,
  ManifestViewToHost,
  TextProblem,
  VerifyView,
} from '../src/protocol/manifest-editor';
import { el, replaceChildren, svgDataUrl } from './lib/dom';
import { connectToHost } from './lib/vscode';
import { artifactsTable } from './manifest/artifacts-table';
import { layerBitsChart } from './manifest/layer-chart';
import { sourceCard } from './manifest/source-card';
import { architectureCard } from './strategy/arch-card';

const host = connectToHost<ManifestViewToHost, never>();
const app = document.getElementById('app')!;
let doc: ManifestDocView | null = null;
let verify: VerifyView = { running: [], progress: null, outcomes: {}, error: null };

replaceChildren(app, el('p', { class: 'muted' }, 'Reading the manifest…'));
window.addEventListener('message', (e: MessageEvent<ManifestHostToView>) => receive(e.data));
host.post({ type: 'ready' });

function receive(m: ManifestHostToView): void {
  switch (m.type) {
    case 'init':
      doc = m.doc;
      verify = m.verify;
      return render();
    case 'doc':
      doc = m.doc;
      return render();
    case 'verify':
      verify = m.verify;
      return render();
    default:
      return assertNever(m);
  }
}

function button(
  label: string,
  icon: string,
  message: ManifestViewToHost,
  opts: { secondary?: boolean; id?: string; disabled?: boolean } = {},
): HTMLElement {
  const b = el('vscode-button', { icon, secondary: opts.secondary ?? true, id: opts.id, disabled: opts.disabled ?? false }, label);
  b.addEventListener('click', () => host.post(message));
  return b;
}

function render(): void {
  if (!doc) return;
  const i = doc.inspection;
  const name = i?.valid ? i.manifest.model : (doc.path.split(/[\\/]/).slice(-2, -1)[0] ?? 'manifest');
  const header = el(
    'header',
    { class: 'head' },
    el(
      'div',
      {},
      el('h1', {}, i?.valid ? `${name}` : 'manifest.json'),
      el('p', { class: 'path muted' }, doc.path, doc.dirty ? el('span', { class: 'dirty' }, ' · unsaved edits') : null),
    ),
    el(
      'div',
      { class: 'actions' },
      button(
        'Verify all',
        'verified',
        { type: 'verify', artifactId: null },
        { secondary: false, id: 'verify-all', disabled: !i?.valid || verify.running.length > 0 },
      ),
      button('Re-evaluate…', 'graph', { type: 'reevaluate' }, { id: 'reevaluate', disabled: !i?.valid }),
      button('Reveal', 'folder-opened', { type: 'reveal', artifactId: null }, { id: 'reveal' }),
      button('Open as JSON', 'json', { type: 'openAsJson', line: null }, { id: 'open-json' }),
    ),
  );
  const body: (HTMLElement | null)[] = [];
  if (doc.error) body.push(errorCard('The worker could not read this manifest', [doc.error]));
  if (!i) body.push(el('p', { class: 'muted' }, 'Reading the manifest…'));
  else if (!i.valid) body.push(problemsCard(i.problems));
  else body.push(...validBody(i));
  replaceChildren(app, header, verifyStatus(), ...body);
}

function verifyStatus(): HTMLElement | null {
  if (verify.running.length) {
    const p = verify.progress;
    const bar = el('vscode-progress-bar', { 'aria-label': 'Verify progress' });
    if (p?.total && p.done !== undefined) {
      bar.max = p.total;
      bar.value = p.done;
    } else bar.indeterminate = true;
    return el(
      'section',
      { class: 'card verify-status running', 'data-state': 'running' },
      el('strong', {}, `Verifying ${verify.running.join(', ')}…`),
      bar,
      p?.step ? el('div', { class: 'muted' }, p.step) : null,
    );
  }
  if (verify.error) return errorCard('Verify', [verify.error]);
  return null;
}

function validBody(i: Extract<ManifestInspection, { valid: true }>): HTMLElement[] {
  const m: Manifest = i.manifest;
  const others = i.problems.filter((p) => !m.artifacts.some((a) => a.id === p.subject));
  const out: HTMLElement[] = [];
  if (others.length) out.push(problemsCard(others, 'Files the manifest lists'));
  out.push(el('div', { class: 'top' }, sourceCard(m), architectureCard(m.architecture, i.recommendation)));
  out.push(
    el(
      'section',
      { class: 'card artifacts-card', 'aria-label': 'Artifacts' },
      el('h2', {}, `Artifacts (${m.artifacts.length})`),
      artifactsTable(m.artifacts, i.problems, verify, {
        verify: (artifactId) => host.post({ type: 'verify', artifactId }),
        chat: (artifactId) => host.post({ type: 'chat', artifactId }),
        reveal: (artifactId) => host.post({ type: 'reveal', artifactId }),
      }),
    ),
  );
  const kldChart = i.chartSvg
    ? el('img', { class: 'chart', id: 'kld-chart', alt: 'File size against mean KL divergence', src: svgDataUrl(i.chartSvg) })
    : el('p', { class: 'muted', id: 'kld-chart-missing' }, 'No artifact has a KL divergence yet: Re-evaluate measures it against F16.');
  out.push(
    el(
      'section',
      { class: 'card charts', 'aria-label': 'Charts' },
      el('div', { class: 'chart-box' }, el('h2', {}, 'Size against mean KL divergence'), kldChart),
      el('div', { class: 'chart-box', id: 'layer-chart' }, el('h2', {}, 'Bits per weight by layer'), layerBitsChart(i.layerBits)),
    ),
  );
  return out;
}

function problemsCard(problems: TextProblem[], title = 'This manifest.json cannot be shown'): HTMLElement {
  const items = problems.map((p) => {
    const link = el('a', { href: '#', class: 'line-link', 'data-line': p.line }, `line ${p.line}, column ${p.column}`);
    link.addEventListener('click', (e) => {
      e.preventDefault();
      host.post({ type: 'openAsJson', line: p.line });
    });
    return el('li', {}, link, ': ', p.message);
  });
  return el(
    'section',
    { class: 'card problems', role: 'alert', 'aria-label': 'Problems' },
    el('h2', {}, el('span', { class: 'codicon codicon-error' }), ` ${title}`),
    el('ul', {}, ...items),
    el('p', { class: 'muted' }, 'Fix the text in the JSON editor: this page follows every edit.'),
  );
}

function errorCard(title: string, messages: string[]): HTMLElement {
  return el(
    'section',
    { class: 'card problems', role: 'alert' },
    el('h2', {}, el('span', { class: 'codicon codicon-error' }), ` ${title}`),
    ...messages.map((m) => el('pre', { class: 'error-message' }, m)),
  );
}

function assertNever(m: never): never {
  throw new Error(`unexpected message ${JSON.stringify(m)}`);
}
