/**
 * The conversation: the user's messages as plain text, the model's replies as sanitised Markdown
 * (./markdown.ts) with the reply's figures under it. A streaming reply re-renders at most once per
 * animation frame, however fast its text arrives.
 */
import type { ChatTurn } from '../../src/protocol/chat';
import { el, replaceChildren } from '../lib/dom';
import { formatBytes } from '../lib/format';
import { renderMarkdown } from './markdown';

export interface TurnEvents {
  copy(text: string): void;
}

const STOPPED: Record<string, string> = { cancelled: 'stopped', 'max-tokens': 'reached the token limit', stop: 'stop text', eos: '' };

export function turnElement(turn: ChatTurn, events: TurnEvents): HTMLElement {
  if (turn.role === 'user') return el('div', { class: 'turn user', 'data-turn': turn.id }, el('div', { class: 'bubble' }, turn.text));
  const body = el('div', { class: 'reply-body markdown' });
  fillReply(body, turn, events);
  const copy = el(
    'button',
    { class: 'copy-reply', type: 'button', title: 'Copy the reply' },
    el('span', { class: 'codicon codicon-copy' }),
  );
  copy.addEventListener('click', () => events.copy(turn.text));
  return el(
    'div',
    { class: `turn assistant${turn.pending ? ' pending' : ''}${turn.error ? ' failed' : ''}`, 'data-turn': turn.id },
    el('div', { class: 'reply-head muted' }, el('span', { class: 'model-name' }, turn.model ?? 'model'), turn.pending ? null : copy),
    body,
    turn.error ? el('div', { class: 'error', role: 'alert' }, el('span', { class: 'codicon codicon-error' }), ` ${turn.error}`) : null,
    turn.stats ? statsLine(turn) : null,
  );
}

/** (Re)renders a reply's text into `body`. */
export function fillReply(body: HTMLElement, turn: ChatTurn, events: TurnEvents): void {
  if (!turn.text && turn.pending) {
    replaceChildren(
      body,
      el('span', { class: 'muted waiting' }, el('span', { class: 'codicon codicon-loading codicon-modifier-spin' }), ' thinking…'),
    );
    return;
  }
  replaceChildren(body, renderMarkdown(turn.text, events.copy));
  if (turn.pending) body.append(el('span', { class: 'cursor' }));
}

function statsLine(turn: ChatTurn): HTMLElement {
  const s = turn.stats!;
  const parts = [
    `${s.tokensPerSecond.toFixed(1)} tokens/s`,
    `first token ${Math.round(s.ttftMs)} ms`,
    `context ${s.contextUsed === null ? '?' : s.contextUsed.toLocaleString('en-US')} / ${s.contextSize.toLocaleString('en-US')}`,
    `memory ${formatBytes(s.memoryBytes)}`,
    `${s.tokens} tokens`,
  ];
  const stopped = turn.stopReason ? STOPPED[turn.stopReason] : '';
  if (stopped) parts.push(stopped);
  return el(
    'div',
    { class: 'stats muted', title: `Worst stall of the extension host while it streamed: ${s.worstStallMs.toFixed(0)} ms` },
    parts.join(' · '),
  );
}
