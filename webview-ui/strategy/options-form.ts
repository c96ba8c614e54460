/** The options form: formats, targets, strategy, importance matrix, calibration, output, evaluation. */
import type { PlanTarget } from '../../src/protocol/core-types';
import type { BrowseField, ImatrixChoice, ModelRef, StrategyChoice, StrategyOptions } from '../../src/protocol/strategy-view';
import { el } from '../lib/dom';

/** Every plan target, in the order the view offers them (the webview imports only types, hence the list). */
export const TARGETS = ['Q4_K_M', 'Q5_K_M', 'Q6_K', 'Q8_0', 'MXFP4_MOE'] as const satisfies readonly PlanTarget[];
/** Fails to compile when the planner gains a target this list lacks. */
const listsEveryTarget: Exclude<PlanTarget, (typeof TARGETS)[number]> extends never ? true : never = true;
void listsEveryTarget;
const STRATEGIES: [StrategyChoice, string][] = [
  ['pajamas', 'Pajamas (architecture-aware)'],
  ['naive', "Stock (llama.cpp's recipe)"],
  ['both', 'Both, to compare'],
];
const IMATRIX: [ImatrixChoice, string][] = [
  ['auto', 'Compute on calibration text'],
  ['off', 'None'],
  ['file', 'From a file'],
];

export interface OptionsFormEvents {
  changed(options: StrategyOptions): void;
  browse(field: BrowseField): void;
  start(): void;
  cancel(): void;
}

export class OptionsForm {
  readonly element: HTMLElement;
  private readonly formats = new Map<string, HTMLElement & { checked: boolean; disabled: boolean }>();
  private readonly targets = new Map<PlanTarget, HTMLElement & { checked: boolean }>();
  private readonly strategy = new Map<StrategyChoice, HTMLElement & { checked: boolean }>();
  private readonly imatrix = new Map<ImatrixChoice, HTMLElement & { checked: boolean }>();
  private readonly fields = new Map<BrowseField, HTMLElement & { value: string }>();
  private readonly evaluate = el(
    'vscode-checkbox',
    { id: 'opt-evaluate' },
    'Evaluate against F16 (perplexity, KL divergence, top-1 agreement)',
  );
  private readonly imatrixFileRow: HTMLElement;
  readonly startButton = el('vscode-button', { id: 'start', icon: 'play' }, 'Start');
  readonly cancelButton = el('vscode-button', { id: 'cancel', icon: 'debug-stop', secondary: true, hidden: true }, 'Cancel');

  constructor(
    model: ModelRef,
    private readonly events: OptionsFormEvents,
  ) {
    const formatRow = el('div', { class: 'choices' });
    for (const [f, label] of [
      ['gguf', 'GGUF'],
      ['mlx', model.kind === 'gguf' ? 'MLX (needs the Hugging Face folder)' : 'MLX'],
    ] as const) {
      const box = el('vscode-checkbox', { 'data-value': f, disabled: model.kind === 'gguf' && f === 'mlx' }, label);
      this.formats.set(f, box);
      formatRow.append(box);
    }
    const targetRow = el('div', { class: 'choices' });
    for (const t of TARGETS) {
      const box = el('vscode-checkbox', { 'data-value': t }, t);
      this.targets.set(t, box);
      targetRow.append(box);
    }
    const strategyGroup = el('vscode-radio-group', { variant: 'vertical' });
    for (const [s, label] of STRATEGIES) {
      const radio = el('vscode-radio', { name: 'strategy', value: s }, label);
      this.strategy.set(s, radio);
      strategyGroup.append(radio);
    }
    const imatrixGroup = el('vscode-radio-group', {});
    for (const [m, label] of IMATRIX) {
      const radio = el('vscode-radio', { name: 'imatrix', value: m }, label);
      this.imatrix.set(m, radio);
      imatrixGroup.append(radio);
    }
    this.imatrixFileRow = this.pathRow('imatrixFile', 'Importance matrix file', 'a .dat or .gguf imatrix');
    this.element = el(
      'section',
      { class: 'card options', 'aria-label': 'Options' },
      el('h2', {}, 'Options'),
      row('Formats', formatRow),
      row('Targets', targetRow),
      row('Strategy', strategyGroup),
      row('Importance matrix', imatrixGroup),
      this.imatrixFileRow,
      this.pathRow('calibrationFile', 'Calibration text', "the project's own calibration text"),
      this.pathRow('outDir', 'Output folder', 'next to the model'),
      el('div', { class: 'row' }, this.evaluate),
      el('div', { class: 'actions' }, this.startButton, this.cancelButton),
    );
    this.element.addEventListener('change', () => this.emit());
    this.element.addEventListener('input', (e) => {
      if ((e.target as HTMLElement).tagName === 'VSCODE-TEXTFIELD') this.emit();
    });
    this.startButton.addEventListener('click', () => events.start());
    this.cancelButton.addEventListener('click', () => events.cancel());
  }

  private pathRow(field: BrowseField, label: string, placeholder: string): HTMLElement {
    const input = el('vscode-textfield', { placeholder, id: `opt-${field}`, 'aria-label': label });
    this.fields.set(field, input);
    const browse = el(
      'vscode-button',
      { secondary: true, icon: 'folder-opened', 'aria-label': `Browse for the ${label.toLowerCase()}` },
      'Browse…',
    );
    browse.addEventListener('click', () => this.events.browse(field));
    return row(label, el('div', { class: 'path-field' }, input, browse));
  }

  set(o: StrategyOptions): void {
    for (const [f, box] of this.formats) box.checked = o.formats.includes(f as 'gguf' | 'mlx') && !box.disabled;
    for (const [t, box] of this.targets) box.checked = o.targets.includes(t);
    for (const [s, radio] of this.strategy) radio.checked = o.strategy === s;
    for (const [m, radio] of this.imatrix) radio.checked = o.imatrix === m;
    this.fields.get('imatrixFile')!.value = o.imatrixFile;
    this.fields.get('calibrationFile')!.value = o.calibrationFile;
    this.fields.get('outDir')!.value = o.outDir;
    (this.evaluate as unknown as { checked: boolean }).checked = o.evaluate;
    this.imatrixFileRow.hidden = o.imatrix !== 'file';
  }

  setPath(field: BrowseField, value: string): void {
    this.fields.get(field)!.value = value;
    this.emit();
  }

  read(): StrategyOptions {
    const checked = <K>(m: Map<K, { checked: boolean }>) => [...m].filter(([, b]) => b.checked).map(([k]) => k);
    return {
      formats: checked(this.formats) as StrategyOptions['formats'],
      targets: checked(this.targets),
      strategy: checked(this.strategy)[0] ?? 'pajamas',
      imatrix: checked(this.imatrix)[0] ?? 'auto',
      imatrixFile: this.fields.get('imatrixFile')!.value.trim(),
      calibrationFile: this.fields.get('calibrationFile')!.value.trim(),
      outDir: this.fields.get('outDir')!.value.trim(),
      evaluate: (this.evaluate as unknown as { checked: boolean }).checked,
    };
  }

  /** Start needs a target and a format; nothing can change while a job runs. */
  setRunning(running: boolean): void {
    const o = this.read();
    (this.startButton as unknown as { disabled: boolean }).disabled = running || !o.targets.length || !o.formats.length;
    this.cancelButton.hidden = !running;
    this.element.classList.toggle('running', running);
  }

  private emit(): void {
    const o = this.read();
    this.imatrixFileRow.hidden = o.imatrix !== 'file';
    this.events.changed(o);
  }
}

function row(label: string, control: HTMLElement): HTMLElement {
  return el('div', { class: 'row' }, el('div', { class: 'row-label' }, label), control);
}
