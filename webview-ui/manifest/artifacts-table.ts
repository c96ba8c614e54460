/** The manifest's artifacts, one row each: what it is, its quality against F16, its files' state, and its actions. */
import type { Artifact } from '../../src/protocol/core-types';
import type { TextProblem, VerifyOutcome, VerifyView } from '../../src/protocol/manifest-editor';
import { el } from '../lib/dom';
import { formatBytes, formatNumber } from '../lib/format';

export interface ArtifactActions {
  verify(artifactId: string): void;
  chat(artifactId: string): void;
  reveal(artifactId: string): void;
}

const HEAD = ['Artifact', 'Format', 'Target', 'Strategy', 'Size', 'bpw', 'PPL', 'Mean KLD', 'p99 KLD', 'Top-1', 'Gate', 'Files', ''];

export function artifactsTable(artifacts: Artifact[], problems: TextProblem[], verify: VerifyView, actions: ArtifactActions): HTMLElement {
  if (!artifacts.length) return el('p', { class: 'muted' }, 'The manifest lists no artifacts yet.');
  return el(
    'table',
    { class: 'artifacts' },
    el('thead', {}, el('tr', {}, ...HEAD.map((h) => el('th', { scope: 'col' }, h)))),
    el(
      'tbody',
      {},
      ...artifacts.map((a) =>
        artifactRow(
          a,
          problems.filter((p) => p.subject === a.id),
          verify,
          actions,
        ),
      ),
    ),
  );
}

function artifactRow(a: Artifact, problems: TextProblem[], verify: VerifyView, actions: ArtifactActions): HTMLElement {
  const q = a.quality;
  const gate = q?.gate ? (q.gate.passed ? 'passed' : 'failed') : '—';
  const running = verify.running.includes(a.id);
  const button = (label: string, icon: string, onClick: () => void, disabled = false) => {
    const b = el(
      'vscode-button',
      { secondary: true, icon, 'data-action': label.toLowerCase(), disabled, title: `${label} ${a.id}` },
      label,
    );
    b.addEventListener('click', onClick);
    return b;
  };
  return el(
    'tr',
    { 'data-artifact': a.id },
    el('td', { class: 'mono', title: a.path }, a.id),
    el('td', {}, a.format.toUpperCase()),
    el('td', {}, a.target),
    el('td', {}, `${a.strategy}${a.imatrix ? ' + imatrix' : ''}`),
    el('td', { class: 'num' }, formatBytes(a.sizeBytes)),
    el('td', { class: 'num' }, a.bpw.toFixed(2)),
    el('td', { class: 'num' }, formatNumber(q?.ppl, 4)),
    el('td', { class: 'num' }, formatNumber(q?.kldMean, 3)),
    el('td', { class: 'num' }, formatNumber(q?.kldP99, 3)),
    el('td', { class: 'num' }, q?.top1 === null || q?.top1 === undefined ? '—' : `${(q.top1 * 100).toFixed(1)}%`),
    el('td', { class: `gate ${gate}` }, gate),
    el('td', { class: 'files' }, fileState(problems, verify.outcomes[a.id])),
    el(
      'td',
      { class: 'row-actions' },
      button('Verify', 'verified', () => actions.verify(a.id), running || verify.running.length > 0),
      button('Chat', 'comment-discussion', () => actions.chat(a.id), a.format !== 'gguf' && a.format !== 'mlx'),
      button('Reveal', 'folder-opened', () => actions.reveal(a.id)),
    ),
  );
}

/** What is known about the artifact's files: the last verification, else the size check of every read. */
function fileState(problems: TextProblem[], outcome: VerifyOutcome | undefined): HTMLElement {
  if (outcome?.state === 'running')
    return el('span', { class: 'verify running' }, el('span', { class: 'codicon codicon-loading codicon-modifier-spin' }), ' verifying…');
  if (outcome?.state === 'problem')
    return el(
      'div',
      { class: 'verify problem', role: 'alert' },
      ...outcome.messages.map((m) => el('div', {}, el('span', { class: 'codicon codicon-error' }), ' ', m)),
    );
  if (problems.length)
    return el(
      'div',
      { class: 'verify problem', role: 'alert' },
      ...problems.map((p) => el('div', {}, el('span', { class: 'codicon codicon-warning' }), ' ', p.message)),
    );
  if (outcome?.state === 'ok')
    return el(
      'span',
      { class: 'verify ok' },
      el('span', { class: 'codicon codicon-pass' }),
      outcome.hashed ? ' SHA-256 verified' : ' sizes match',
    );
  return el('span', { class: 'muted' }, 'present, size matches');
}
