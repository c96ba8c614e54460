/**
 * The Strategy webview ("Quantize with Pajamas"): architecture card, options, job and results, and
 * the per-tensor plan, which is re-planned by the worker whenever the previewed target or strategy
 * changes. Data arrives only by message: `ready` -> `init`, then `plan`/`job` updates. What the page
 * alone knows (open layers, previewed plan) survives being hidden through the webview state.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import '@vscode-elements/elements/dist/vscode-radio-group/index.js';
import '@vscode-elements/elements/dist/vscode-radio/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import './strategy.css';
import type { PlanStrategy, PlanTarget } from '../src/protocol/core-types';
import type { ErrorView, HostToView, JobView, ModelRef, StrategyOptions, ViewToHost } from '../src/protocol/strategy-view';
import type { PlanResult } from '../src/protocol/worker';
import { el, replaceChildren } from './lib/dom';
import { connectToHost } from './lib/vscode';
import { architectureCard } from './strategy/arch-card';
import { errorBlock, jobSection, tickElapsed } from './strategy/job-view';
import { OptionsForm, TARGETS } from './strategy/options-form';
import { planBody, planTotals } from './strategy/plan-view';

interface ViewState {
  openLayers: string[];
  preview: { target: PlanTarget; strategy: PlanStrategy } | null;
}

const host = connectToHost<ViewToHost, ViewState>();
const view: ViewState = host.state() ?? { openLayers: [], preview: null };

let form: OptionsForm | undefined;
let job: JobView | null = null;
let plan: PlanResult | null = null;
let planId = 0;

const app = document.getElementById('app')!;
const header = el('header', { class: 'model' }, el('h1', {}, 'Loading…'));
const archSlot = el('div', { class: 'arch-slot' }, el('p', { class: 'muted' }, 'Reading the model…'));
const optionsSlot = el('div', { class: 'options-slot' });
const jobSlot = el('div', { class: 'job-slot' });
const targetSelect = el(
  'vscode-single-select',
  { id: 'preview-target', 'aria-label': 'Previewed target' },
  ...TARGETS.map((t) => el('vscode-option', { value: t }, t)),
);
const strategySelect = el(
  'vscode-single-select',
  { id: 'preview-strategy', 'aria-label': 'Previewed strategy' },
  el('vscode-option', { value: 'pajamas' }, 'pajamas'),
  el('vscode-option', { value: 'naive' }, 'stock (naive)'),
);
const planStatus = el('span', { class: 'plan-status muted' });
const totalsSlot = el('div', { class: 'totals-slot' });
const planSlot = el('div', { class: 'plan-slot' });
const planSection = el(
  'section',
  { class: 'card plan', 'aria-label': 'Plan' },
  el(
    'div',
    { class: 'plan-head' },
    el('h2', {}, 'Plan'),
    el('label', {}, 'Target ', targetSelect),
    el('label', {}, 'Strategy ', strategySelect),
    planStatus,
  ),
  totalsSlot,
  planSlot,
);
app.append(header, el('div', { class: 'top' }, optionsSlot, archSlot), jobSlot, planSection);

targetSelect.addEventListener('change', () =>
  requestPlan({ target: targetSelect.value as PlanTarget, strategy: view.preview?.strategy ?? 'pajamas' }),
);
strategySelect.addEventListener('change', () =>
  requestPlan({ target: view.preview?.target ?? 'Q4_K_M', strategy: strategySelect.value as PlanStrategy }),
);

window.addEventListener('message', (e: MessageEvent<HostToView>) => receive(e.data));
setInterval(() => tickElapsed(jobSlot), 1000);
host.post({ type: 'ready' });

function receive(m: HostToView): void {
  switch (m.type) {
    case 'init':
      return init(m.model, m.options, m.job);
    case 'plan':
      if (m.requestId !== planId) return; // an answer for an earlier choice
      return showPlan(m.result);
    case 'planError':
      if (m.requestId !== planId) return;
      return showPlanError(m.error);
    case 'browsed':
      return form?.setPath(m.field, m.path);
    case 'job':
      return showJob(m.job);
    default:
      return assertNever(m);
  }
}

function init(model: ModelRef, options: StrategyOptions, initialJob: JobView | null): void {
  replaceChildren(header, el('h1', {}, `Quantize ${model.name}`), el('p', { class: 'path muted' }, model.path));
  form = new OptionsForm(model, {
    changed: (o) => {
      host.post({ type: 'options', options: o });
      form!.setRunning(job?.state === 'running');
      followOptions(o);
    },
    browse: (field) => host.post({ type: 'browse', field }),
    start: () => {
      const o = form!.read();
      host.post({ type: 'start', options: o });
    },
    cancel: () => host.post({ type: 'cancel' }),
  });
  form.set(options);
  replaceChildren(optionsSlot, form.element);
  showJob(initialJob);
  requestPlan(view.preview ?? previewFor(options));
}

/** The plan previewed for a set of options: the first chosen target, the chosen strategy. */
function previewFor(o: StrategyOptions): { target: PlanTarget; strategy: PlanStrategy } {
  return { target: o.targets[0] ?? 'Q4_K_M', strategy: o.strategy === 'naive' ? 'naive' : 'pajamas' };
}

/** Re-plans when the options no longer include what is previewed. */
function followOptions(o: StrategyOptions): void {
  const current = view.preview;
  const wanted = previewFor(o);
  const keepTarget = current && o.targets.includes(current.target);
  const keepStrategy = current && (o.strategy === 'both' || o.strategy === current.strategy);
  const next = { target: keepTarget ? current.target : wanted.target, strategy: keepStrategy ? current.strategy : wanted.strategy };
  if (!current || next.target !== current.target || next.strategy !== current.strategy) requestPlan(next);
}

function requestPlan(p: { target: PlanTarget; strategy: PlanStrategy }): void {
  view.preview = p;
  host.saveState(view);
  targetSelect.value = p.target;
  strategySelect.value = p.strategy;
  planId++;
  planStatus.textContent = `planning ${p.target}…`;
  planSection.classList.add('stale');
  host.post({ type: 'plan', requestId: planId, target: p.target, strategy: p.strategy });
}

function showPlan(result: PlanResult): void {
  const started = performance.now();
  plan = result;
  replaceChildren(archSlot, architectureCard(result.arch, result.recommendation));
  replaceChildren(totalsSlot, planTotals(result));
  replaceChildren(
    planSlot,
    planBody(result, view, (key, open) => {
      view.openLayers = open ? [...new Set([...view.openLayers, key])] : view.openLayers.filter((k) => k !== key);
      host.saveState(view);
    }),
  );
  planSection.classList.remove('stale');
  planStatus.textContent = `${result.plan.strategy}, ${result.plan.target}`;
  form?.setRunning(job?.state === 'running');
  const id = planId;
  // Measured to the first frame after the DOM is built: what the user waits for.
  requestAnimationFrame(() =>
    setTimeout(() => host.post({ type: 'rendered', requestId: id, ms: performance.now() - started, tensors: result.plan.tensors.length })),
  );
}

function showPlanError(error: ErrorView): void {
  plan = null;
  replaceChildren(archSlot, el('section', { class: 'card arch' }, el('h2', {}, 'Cannot read this model'), errorBlock(error)));
  replaceChildren(totalsSlot);
  replaceChildren(planSlot, el('p', { class: 'muted' }, 'No plan: the model could not be read.'));
  planSection.classList.remove('stale');
  planStatus.textContent = '';
  form?.setRunning(true);
  if (form) form.cancelButton.hidden = true;
}

function showJob(next: JobView | null): void {
  job = next;
  if (!next) replaceChildren(jobSlot);
  else
    replaceChildren(
      jobSlot,
      jobSection(next, {
        openManifest: (path) => host.post({ type: 'openManifest', path }),
        reveal: (path) => host.post({ type: 'reveal', path }),
        chat: (manifestPath, artifactId) => host.post({ type: 'chat', manifestPath, artifactId }),
      }),
    );
  form?.setRunning(next?.state === 'running' || (plan === null && archSlot.querySelector('.error') !== null));
}

function assertNever(m: never): never {
  throw new Error(`unexpected message ${JSON.stringify(m)}`);
}
