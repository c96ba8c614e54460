/** The small settings row: system prompt, temperature, top-p and the token limit of a reply. */
import type { ChatSettings } from '../../src/protocol/chat';
import { el } from '../lib/dom';

/** The ranges the host accepts (src/protocol/chat.ts CHAT_LIMITS checks them again on arrival). */
const CHAT_LIMITS = { maxTokens: 8192, temperature: 2, systemPromptChars: 8000 } as const;

type Field = HTMLElement & { value: string };

export class SettingsRow {
  readonly element: HTMLElement;
  private readonly system: Field;
  private readonly temperature: Field;
  private readonly topP: Field;
  private readonly maxTokens: Field;
  private readonly problem = el('div', { class: 'settings-problem', role: 'alert' });

  constructor(
    settings: ChatSettings,
    open: boolean,
    private readonly events: { changed(s: ChatSettings): void; toggled(open: boolean): void },
  ) {
    this.system = el('vscode-textarea', {
      id: 'system-prompt',
      rows: 2,
      placeholder: 'System prompt (optional)',
      'aria-label': 'System prompt',
      resize: 'vertical',
    });
    this.temperature = numberField('temperature', 'Temperature', 0, CHAT_LIMITS.temperature, 0.05);
    this.topP = numberField('top-p', 'Top-p', 0, 1, 0.05);
    this.maxTokens = numberField('max-tokens', 'Max tokens', 1, CHAT_LIMITS.maxTokens, 1);
    this.set(settings);
    const details = el(
      'details',
      { class: 'settings', open },
      el('summary', {}, 'Settings'),
      this.system,
      el(
        'div',
        { class: 'numbers' },
        label('Temperature', this.temperature),
        label('Top-p', this.topP),
        label('Max tokens', this.maxTokens),
      ),
      this.problem,
    );
    details.addEventListener('toggle', () => events.toggled(details.open));
    details.addEventListener('input', () => this.emit());
    details.addEventListener('change', () => this.emit());
    this.element = details;
  }

  set(s: ChatSettings): void {
    this.system.value = s.systemPrompt;
    this.temperature.value = String(s.temperature);
    this.topP.value = String(s.topP);
    this.maxTokens.value = String(s.maxTokens);
  }

  /** The settings as typed, or null (with the reason shown) when a number is out of range. */
  read(): ChatSettings | null {
    const s: ChatSettings = {
      systemPrompt: this.system.value,
      temperature: Number(this.temperature.value),
      topP: Number(this.topP.value),
      maxTokens: Number(this.maxTokens.value),
    };
    const wrong = [
      !(s.temperature >= 0 && s.temperature <= CHAT_LIMITS.temperature) && `temperature is 0 to ${CHAT_LIMITS.temperature}`,
      !(s.topP >= 0 && s.topP <= 1) && 'top-p is 0 to 1',
      !(Number.isInteger(s.maxTokens) && s.maxTokens >= 1 && s.maxTokens <= CHAT_LIMITS.maxTokens) &&
        `max tokens is 1 to ${CHAT_LIMITS.maxTokens}`,
      s.systemPrompt.length > CHAT_LIMITS.systemPromptChars && `the system prompt is at most ${CHAT_LIMITS.systemPromptChars} characters`,
    ].filter(Boolean);
    this.problem.textContent = wrong.length ? `Not saved: ${wrong.join('; ')}.` : '';
    return wrong.length ? null : s;
  }

  private emit(): void {
    const s = this.read();
    if (s) this.events.changed(s);
  }
}

function numberField(id: string, name: string, min: number, max: number, step: number): Field {
  return el('vscode-textfield', { id, type: 'number', min, max, step, 'aria-label': name });
}

function label(text: string, field: HTMLElement): HTMLElement {
  return el('label', {}, el('span', { class: 'muted' }, text), field);
}
