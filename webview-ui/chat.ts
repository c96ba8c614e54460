/**
 * The chat view (Pajamas sidebar): pick a model, talk to it, see each reply's figures. Everything
 * the view shows comes from the host (`ready` -> `init`, then `state`, and `text` while a reply
 * streams); the draft being typed and whether the settings are open survive hiding the view through
 * the webview state. Model output is rendered by ./chat/markdown.ts only, never as HTML.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-textarea/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import './chat.css';
import type { ChatHostToView, ChatTurn, ChatViewState, ChatViewToHost } from '../src/protocol/chat';
import { el, replaceChildren } from './lib/dom';
import { connectToHost } from './lib/vscode';
import { modelPicker, sessionLine } from './chat/picker';
import { SettingsRow } from './chat/settings';
import { fillReply, turnElement } from './chat/turns';

interface PageState {
  draft: string;
  settingsOpen: boolean;
}

const host = connectToHost<ChatViewToHost, PageState>();
const page: PageState = host.state() ?? { draft: '', settingsOpen: false };
const app = document.getElementById('app')!;
let state: ChatViewState | null = null;
/** The streaming reply's body, re-rendered at most once per frame. */
let streaming: { turn: ChatTurn; body: HTMLElement; frame: number | null } | null = null;

const pickerSlot = el('div', { class: 'picker-slot' });
const sessionSlot = el('div', { class: 'session-slot' });
const settingsSlot = el('div', { class: 'settings-slot' });
const log = el('div', { class: 'log', role: 'log', 'aria-live': 'polite' });
const input = el('textarea', {
  id: 'prompt',
  rows: 3,
  placeholder: 'Ask the model… (Enter sends, Shift+Enter for a new line)',
  'aria-label': 'Message',
});
const send = el('vscode-button', { id: 'send', icon: 'send' }, 'Send');
const stop = el('vscode-button', { id: 'stop', icon: 'debug-stop', secondary: true }, 'Stop');
const regenerate = el('vscode-button', { id: 'regenerate', icon: 'refresh', secondary: true }, 'Regenerate');
const newChat = el('vscode-button', { id: 'new-chat', icon: 'add', secondary: true }, 'New chat');
app.append(
  pickerSlot,
  sessionSlot,
  settingsSlot,
  log,
  el('div', { class: 'composer' }, input, el('div', { class: 'actions' }, send, stop, regenerate, newChat)),
);
input.value = page.draft;

input.addEventListener('input', () => {
  page.draft = input.value;
  host.saveState(page);
});
input.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    submit();
  }
});
send.addEventListener('click', submit);
stop.addEventListener('click', () => host.post({ type: 'stop' }));
regenerate.addEventListener('click', () => host.post({ type: 'regenerate' }));
newChat.addEventListener('click', () => host.post({ type: 'newChat' }));

window.addEventListener('message', (e: MessageEvent<ChatHostToView>) => receive(e.data));
host.post({ type: 'ready' });

function receive(m: ChatHostToView): void {
  switch (m.type) {
    case 'init':
      state = m.state;
      replaceChildren(settingsSlot, settingsRow(m.state).element);
      return render();
    case 'state':
      state = m.state;
      return render();
    case 'text':
      return appendText(m.turnId, m.at, m.text);
    default:
      return assertNever(m);
  }
}

function submit(): void {
  const text = input.value.trim();
  if (!text || !state || state.busy) return;
  host.post({ type: 'send', text });
  input.value = '';
  page.draft = '';
  host.saveState(page);
}

function settingsRow(s: ChatViewState): SettingsRow {
  return new SettingsRow(s.settings, page.settingsOpen, {
    changed: (settings) => host.post({ type: 'settings', settings }),
    toggled: (open) => {
      page.settingsOpen = open;
      host.saveState(page);
    },
  });
}

const copy = (text: string) => host.post({ type: 'copy', text });

function render(): void {
  if (!state) return;
  const s = state;
  const events = {
    select: (key: string) => host.post({ type: 'select', key }),
    loadAnyway: () => host.post({ type: 'loadAnyway' }),
    refresh: () => host.post({ type: 'refreshModels' }),
  };
  const selected = 'key' in s.session ? s.session.key : null;
  replaceChildren(pickerSlot, modelPicker(s.models, selected, s.modelsNote, events));
  replaceChildren(sessionSlot, sessionLine(s.session, s.models, events));
  const stickToBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  const dropped = s.droppedTurns ? el('div', { class: 'dropped muted' }, `${s.droppedTurns} earlier message(s) are no longer kept.`) : null;
  const empty = s.turns.length
    ? null
    : el(
        'div',
        { class: 'empty muted' },
        selected ? 'Say something to the model.' : 'Pick a model above, or use "Chat with this Model" on an artifact.',
      );
  replaceChildren(log, dropped, empty, ...s.turns.map((t) => turnElement(t, { copy })));
  const pending = s.turns.find((t) => t.pending);
  streaming = pending
    ? { turn: { ...pending }, body: log.querySelector(`[data-turn="${pending.id}"] .reply-body`) as HTMLElement, frame: null }
    : null;
  if (stickToBottom || pending) log.scrollTop = log.scrollHeight;
  const replying = Boolean(pending);
  (send as unknown as { disabled: boolean }).disabled = s.busy;
  stop.hidden = !replying;
  (regenerate as unknown as { disabled: boolean }).disabled = s.busy || !s.turns.some((t) => t.role === 'user');
  app.classList.toggle('busy', s.busy);
}

/** Text of the streaming reply: appended where it belongs (a repeat after a reload is ignored). */
function appendText(turnId: string, at: number, text: string): void {
  if (!streaming || streaming.turn.id !== turnId) return;
  const turn = streaming.turn;
  if (at > turn.text.length) return; // a gap: the next `state` brings the whole text
  turn.text = turn.text.slice(0, at) + text;
  if (streaming.frame !== null) return;
  streaming.frame = requestAnimationFrame(() => {
    if (!streaming) return;
    streaming.frame = null;
    fillReply(streaming.body, streaming.turn, { copy });
    log.scrollTop = log.scrollHeight;
  });
}

function assertNever(m: never): never {
  throw new Error(`unexpected message ${JSON.stringify(m)}`);
}
