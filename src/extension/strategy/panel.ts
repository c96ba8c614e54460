/**
 * The Strategy panel ("Quantize with Pajamas"): one webview per model showing its architecture, the
 * per-tensor plan (re-planned in the worker whenever target or strategy change), the options, and
 * the quantization job with its progress and results. The panel keeps the state (options, job) so
 * a page rebuilt after being hidden gets it back with `init`.
 */
import path from 'node:path';
import * as vscode from 'vscode';
import { UsageError } from '../../core/errors';
import type { QuantizeRequest } from '../../core/pipeline/options';
import {
  type BrowseField,
  type HostToView,
  type JobView,
  type ModelRef,
  STRATEGY_VIEW_TYPE,
  type StrategyOptions,
  type ViewToHost,
  isStrategyViewMessage,
} from '../../protocol/strategy-view';
import { PlanRequest, QuantizeRequestType } from '../../protocol/worker';
import { defaultOutputFolder, modelName, readConfig } from '../config';
import type { Ctx } from '../ctx';
import { logError, reportError, toErrorView } from '../errors';
import { WebviewChannel } from '../webview/channel';
import { renderHtml, webviewOptions } from '../webview/html';

/** What the in-host tests read: the last plan render the view measured. */
export interface PlanRender {
  model: string;
  ms: number;
  tensors: number;
}

const panels = new Map<string, StrategyPanel>();
let lastRender: PlanRender | undefined;

export function lastPlanRender(): PlanRender | undefined {
  return lastRender;
}

/** Opens (or reveals) the Strategy panel of a model folder, config.json or .gguf file. */
export function openStrategyPanel(ctx: Ctx, modelPath: string): StrategyPanel {
  const existing = panels.get(modelPath);
  if (existing) {
    existing.reveal();
    return existing;
  }
  const panel = new StrategyPanel(ctx, modelRef(modelPath));
  panels.set(modelPath, panel);
  panel.onDispose(() => panels.delete(modelPath));
  return panel;
}

export function modelRef(modelPath: string): ModelRef {
  const base = path.basename(modelPath);
  if (/\.gguf$/i.test(base)) return { path: modelPath, name: modelName(modelPath), kind: 'gguf' };
  const folder = base === 'config.json' ? path.dirname(modelPath) : modelPath;
  return { path: folder, name: modelName(folder), kind: 'hf-folder' };
}

export function defaultOptions(model: ModelRef): StrategyOptions {
  const c = readConfig();
  return {
    formats: model.kind === 'gguf' ? ['gguf'] : c.defaultFormats,
    targets: c.defaultTargets,
    strategy: c.defaultStrategy,
    imatrix: c.importanceMatrix,
    imatrixFile: '',
    calibrationFile: '',
    outDir: defaultOutputFolder(model.path, c),
    evaluate: c.evaluate,
  };
}

/** The core request for the options chosen in the view. */
export function quantizeRequest(model: ModelRef, o: StrategyOptions): QuantizeRequest {
  if (!o.targets.length) throw new UsageError('choose at least one target', { option: 'targets' });
  const formats = model.kind === 'gguf' ? o.formats.filter((f) => f === 'gguf') : o.formats;
  if (!formats.length) throw new UsageError('choose at least one format', { option: 'formats' });
  if (o.imatrix === 'file' && !o.imatrixFile) throw new UsageError('choose the importance matrix file', { option: 'imatrix' });
  return {
    model: model.path,
    outDir: o.outDir || defaultOutputFolder(model.path),
    formats,
    targets: o.targets,
    strategies: o.strategy === 'both' ? ['pajamas', 'naive'] : [o.strategy],
    imatrix: o.imatrix === 'file' ? { kind: 'file', path: o.imatrixFile } : { kind: o.imatrix },
    calibrationFile: o.calibrationFile || undefined,
    evaluate: o.evaluate,
  };
}

export class StrategyPanel {
  private readonly panel: vscode.WebviewPanel;
  private readonly channel: WebviewChannel<ViewToHost, HostToView>;
  private options: StrategyOptions;
  private job: JobView | null = null;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly disposeListeners: (() => void)[] = [];

  constructor(
    private readonly ctx: Ctx,
    readonly model: ModelRef,
  ) {
    this.options = ctx.state.strategyOptions(model.path) ?? defaultOptions(model);
    const { extensionUri } = ctx.extension;
    this.panel = vscode.window.createWebviewPanel(STRATEGY_VIEW_TYPE, `Quantize ${model.name}`, vscode.ViewColumn.Active, {
      ...webviewOptions(extensionUri),
      retainContextWhenHidden: false,
    });
    this.panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'pajamas.svg');
    this.channel = new WebviewChannel<ViewToHost, HostToView>({
      webview: this.panel.webview,
      name: `Strategy view (${model.name})`,
      output: ctx.output,
      isMessage: isStrategyViewMessage,
      init: () => ({ type: 'init', model: this.model, options: this.options, job: this.job }),
      onMessage: (m) => this.handle(m),
    });
    this.panel.webview.html = renderHtml(this.panel.webview, extensionUri, 'strategy', `Quantize ${model.name}`);
    this.disposables.push(
      this.channel,
      this.panel.onDidChangeViewState(({ webviewPanel }) => {
        if (!webviewPanel.visible) this.channel.detach();
      }),
      this.panel.onDidDispose(() => this.dispose()),
    );
  }

  reveal(): void {
    this.panel.reveal();
  }

  onDispose(listener: () => void): void {
    this.disposeListeners.push(listener);
  }

  private async handle(m: Exclude<ViewToHost, { type: 'ready' }>): Promise<void> {
    switch (m.type) {
      case 'plan':
        return this.plan(m.requestId, m);
      case 'options':
        this.options = m.options;
        return this.ctx.state.setStrategyOptions(this.model.path, m.options);
      case 'start':
        this.options = m.options;
        await this.ctx.state.setStrategyOptions(this.model.path, m.options);
        return this.start();
      case 'cancel':
        if (this.job?.state === 'running') this.ctx.jobs.cancel(this.job.jobId);
        return;
      case 'browse':
        return this.browse(m.field);
      case 'openManifest':
        await vscode.window.showTextDocument(vscode.Uri.file(m.path), { preview: false });
        return;
      case 'reveal':
        await vscode.commands.executeCommand('pajamas.reveal', m.path);
        return;
      case 'chat':
        await vscode.commands.executeCommand('pajamas.chatWithModel', { manifestPath: m.manifestPath, artifactId: m.artifactId });
        return;
      case 'rendered':
        lastRender = { model: this.model.path, ms: m.ms, tensors: m.tensors };
        this.ctx.output.log(`Strategy view: rendered the plan of ${m.tensors} tensors in ${m.ms.toFixed(0)} ms`);
        return;
      default:
        return assertNever(m);
    }
  }

  private async plan(requestId: number, m: Extract<ViewToHost, { type: 'plan' }>): Promise<void> {
    try {
      const params = { model: this.model.path, target: m.target, strategy: m.strategy };
      const result = await this.ctx.worker.request(PlanRequest, params, 'planning');
      this.channel.post({ type: 'plan', requestId, result });
    } catch (error) {
      logError(this.ctx, `Plan ${this.model.name}`, error);
      this.channel.post({ type: 'planError', requestId, error: toErrorView(error) });
    }
  }

  private start(): void {
    if (this.job?.state === 'running') return;
    let request: QuantizeRequest;
    try {
      request = quantizeRequest(this.model, this.options);
    } catch (error) {
      this.setJob({ state: 'failed', jobId: '', error: toErrorView(error) });
      return;
    }
    const { jobId, result } = this.ctx.jobs.start({
      kind: 'quantize',
      title: `Quantizing ${this.model.name}`,
      send: (id) => this.ctx.worker.request(QuantizeRequestType, { jobId: id, request }, `quantizing ${this.model.name}`),
    });
    this.setJob({ state: 'running', jobId, progress: null, startedAt: Date.now() });
    const progress = this.ctx.jobs.onDidChange((e) => {
      if (e.jobId === jobId && !e.finished && this.job?.state === 'running') this.setJob({ ...this.job, progress: e.progress });
    });
    result.then(
      (r) => {
        this.setJob({ state: 'done', jobId, result: r });
        if (r.gateFailures?.length) {
          void vscode.window.showWarningMessage(
            `${this.model.name}: ${r.gateFailures.join(', ')} failed the quality gate; see the results.`,
          );
        }
      },
      (error: unknown) => {
        const view = toErrorView(error);
        if (view.code === 'cancelled') {
          this.ctx.output.log(`Quantizing ${this.model.name}: cancelled`);
          this.setJob({ state: 'cancelled', jobId });
        } else {
          this.setJob({ state: 'failed', jobId, error: view });
          void reportError(this.ctx, `Quantizing ${this.model.name}`, error);
        }
      },
    );
    void result.finally(() => progress.dispose()).catch(() => undefined);
  }

  private setJob(job: JobView): void {
    this.job = job;
    this.channel.post({ type: 'job', job });
  }

  private async browse(field: BrowseField): Promise<void> {
    const folder = field === 'outDir';
    const picked = await vscode.window.showOpenDialog({
      title: folder ? 'Output folder' : field === 'imatrixFile' ? 'Importance matrix file' : 'Calibration text file',
      canSelectFolders: folder,
      canSelectFiles: !folder,
      canSelectMany: false,
      defaultUri: vscode.Uri.file(folder ? path.dirname(this.options.outDir || this.model.path) : path.dirname(this.model.path)),
    });
    const uri = picked?.[0];
    if (uri?.scheme === 'file') this.channel.post({ type: 'browsed', field, path: uri.fsPath });
  }

  private dispose(): void {
    if (this.job?.state === 'running')
      this.ctx.output.log(`Strategy view of ${this.model.name} closed; its job keeps running (cancel it from the notification)`);
    for (const d of this.disposables) d.dispose();
    for (const l of this.disposeListeners) l();
  }
}

function assertNever(m: never): never {
  throw new Error(`unhandled message ${JSON.stringify(m)}`);
}
