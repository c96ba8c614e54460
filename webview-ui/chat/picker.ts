/** The model picker and the session line under it: what each model is, and whether it is loaded, fits, or why not. */
import type { ChatModelOption, SessionView } from '../../src/protocol/chat';
import { el } from '../lib/dom';
import { formatBytes, formatNumber } from '../lib/format';

export interface PickerEvents {
  select(key: string): void;
  loadAnyway(): void;
  refresh(): void;
}

/** "GGUF · Q4_K_M · pajamas + imatrix · 2.73 MiB · KLD 0.0018 · node-llama-cpp (cpu)" */
export function describeModel(m: ChatModelOption): string {
  const parts: string[] = [m.format.toUpperCase()];
  if (m.quant) parts.push(m.quant);
  if (m.strategy) parts.push(m.strategy);
  if (m.sizeBytes) parts.push(formatBytes(m.sizeBytes));
  if (m.quality?.kldMean !== null && m.quality?.kldMean !== undefined) parts.push(`KLD ${formatNumber(m.quality.kldMean, 3)}`);
  else if (m.quality) parts.push(`PPL ${formatNumber(m.quality.ppl, 4)}`);
  if (m.quality?.gatePassed === false) parts.push('failed its quality gate');
  parts.push(m.unavailable ? `cannot run here: ${m.unavailable}` : m.backend);
  return parts.join(' · ');
}

export function modelPicker(models: ChatModelOption[], selected: string | null, note: string | null, events: PickerEvents): HTMLElement {
  const select = el('vscode-single-select', { id: 'model-select', 'aria-label': 'Model', position: 'below' });
  select.append(
    el('vscode-option', { value: '', description: 'Pick an artifact or a .gguf file' }, models.length ? 'Pick a model…' : 'No models'),
  );
  for (const m of models)
    select.append(
      el('vscode-option', { value: m.key, description: describeModel(m), disabled: Boolean(m.unavailable) }, `${m.label}  (${m.group})`),
    );
  select.value = selected && models.some((m) => m.key === selected) ? selected : '';
  select.addEventListener('change', () => {
    if (select.value) events.select(select.value);
  });
  const refresh = el('vscode-button', { icon: 'refresh', secondary: true, title: 'List the models again', 'aria-label': 'Refresh models' });
  refresh.addEventListener('click', () => events.refresh());
  const chosen = models.find((m) => m.key === selected);
  return el(
    'section',
    { class: 'picker' },
    el('div', { class: 'picker-row' }, select, refresh),
    chosen ? el('div', { class: 'model-facts muted', id: 'model-facts' }, describeModel(chosen)) : null,
    note ? el('div', { class: 'muted' }, note) : null,
  );
}

export function sessionLine(session: SessionView, models: ChatModelOption[], events: PickerEvents): HTMLElement | null {
  const label = (key: string) => models.find((m) => m.key === key)?.label ?? key;
  switch (session.state) {
    case 'none':
      return null;
    case 'idle':
      return el('div', { class: 'session muted', 'data-state': 'idle' }, `${label(session.key)} loads when you send a message.`);
    case 'checking':
      return el(
        'div',
        { class: 'session muted', 'data-state': 'checking' },
        spinner(),
        ` Checking whether ${label(session.key)} fits in memory…`,
      );
    case 'loading':
      return el('div', { class: 'session muted', 'data-state': 'loading' }, spinner(), ` Loading ${label(session.key)}…`);
    case 'ready': {
      const i = session.info;
      const template = i.chatTemplate ? "the model's chat template" : 'a generic chat format (the model has no chat template)';
      return el(
        'div',
        { class: 'session ready', 'data-state': 'ready' },
        el('span', { class: 'codicon codicon-check' }),
        ` ${i.artifactId} on ${session.backend}, context ${i.contextSize.toLocaleString('en-US')} tokens, ` +
          `${template}; memory ${formatBytes(session.memoryBytes)}`,
      );
    }
    case 'noFit': {
      const alternative = session.alternativeKey;
      const use = alternative ? el('vscode-button', { id: 'use-alternative' }, `Use ${label(alternative)}`) : null;
      use?.addEventListener('click', () => events.select(alternative!));
      const anyway = el('vscode-button', { id: 'load-anyway', secondary: true }, 'Load anyway');
      anyway.addEventListener('click', () => events.loadAnyway());
      return el(
        'div',
        { class: 'session no-fit', role: 'alert', 'data-state': 'noFit' },
        el('strong', {}, `${label(session.key)} does not fit in the free memory.`),
        el('pre', { class: 'explanation' }, session.fit.explanation),
        el('div', { class: 'actions' }, use, anyway),
      );
    }
    case 'error':
      return el(
        'div',
        { class: 'session error', role: 'alert', 'data-state': 'error' },
        el('span', { class: 'codicon codicon-error' }),
        ` ${session.message}`,
      );
    default:
      return assertNever(session);
  }
}

function spinner(): HTMLElement {
  return el('span', { class: 'codicon codicon-loading codicon-modifier-spin' });
}

function assertNever(x: never): never {
  throw new Error(`unexpected session ${JSON.stringify(x)}`);
}
