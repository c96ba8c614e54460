/**
 * One open manifest editor: a webview over a manifest.json TextDocument. The worker reads the
 * text (pajamas/inspectManifest) when the editor opens, after every edit (debounced) and when
 * files in the manifest's folder change; the view re-renders from each answer. The editor itself
 * never edits or saves the document: Verify reads the files, Re-evaluate runs a job the user asked
 * for (which writes the manifest as `pajamas eval` does), Open as JSON shows the text.
 */
import path from 'node:path';
import * as vscode from 'vscode';
import { UsageError } from '../../core/errors';
import {
  type ManifestDocView,
  type ManifestHostToView,
  type ManifestInspection,
  type ManifestViewToHost,
  type VerifyView,
  InspectManifestRequest,
  isManifestViewMessage,
} from '../../protocol/manifest-editor';
import { EvaluateRequest, VerifyRequest, type VerifyResult } from '../../protocol/worker';
import type { Ctx } from '../ctx';
import { logError, reportError } from '../errors';
import { DEFAULT_TEXT, pickEvaluationText } from '../pick';
import { WebviewChannel } from '../webview/channel';
import { renderHtml, webviewOptions } from '../webview/html';
import { openManifestAsJson } from './commands';

/** Edits are read again this long after typing stops. */
export const INSPECT_DEBOUNCE_MS = 200;

/** What the in-host tests see of an open manifest editor. */
export interface ManifestEditorProbe {
  readonly state: { doc: ManifestDocView; verify: VerifyView };
  nextShown(): Promise<void>;
  receive(message: unknown): Promise<void>;
}

/** Open editors by manifest path (the in-host tests read their state). */
export const openEditors = new Map<string, ManifestEditor>();

export class ManifestEditor implements vscode.Disposable, ManifestEditorProbe {
  private readonly channel: WebviewChannel<ManifestViewToHost, ManifestHostToView>;
  private readonly disposables: vscode.Disposable[] = [];
  private doc: ManifestDocView;
  private verifyView: VerifyView = { running: [], progress: null, outcomes: {}, error: null };
  private timer: NodeJS.Timeout | undefined;
  private sequence = 0;
  /** Resolves after the next answer of the worker is shown (tests wait on it). */
  private shownListeners: (() => void)[] = [];

  constructor(
    private readonly ctx: Ctx,
    readonly document: vscode.TextDocument,
    panel: vscode.WebviewPanel,
  ) {
    const { extensionUri } = ctx.extension;
    const folder = path.basename(path.dirname(document.uri.fsPath));
    this.doc = { path: document.uri.fsPath, inspection: null, dirty: document.isDirty, error: null };
    panel.webview.options = webviewOptions(extensionUri);
    this.channel = new WebviewChannel<ManifestViewToHost, ManifestHostToView>({
      webview: panel.webview,
      name: `Manifest editor (${folder})`,
      output: ctx.output,
      isMessage: isManifestViewMessage,
      init: () => ({ type: 'init', doc: this.doc, verify: this.verifyView }),
      onMessage: (m) => this.handle(m),
    });
    panel.webview.html = renderHtml(panel.webview, extensionUri, 'manifest', `${folder} manifest`);
    const watcher = vscode.workspace.createFileSystemWatcher(
      new vscode.RelativePattern(vscode.Uri.file(path.dirname(this.doc.path)), '**'),
    );
    this.disposables.push(
      this.channel,
      watcher,
      watcher.onDidCreate(() => this.schedule()),
      watcher.onDidDelete(() => this.schedule()),
      watcher.onDidChange((uri) => {
        if (uri.fsPath !== this.doc.path) this.schedule();
      }),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document === document) this.schedule();
      }),
      vscode.workspace.onDidSaveTextDocument((d) => {
        if (d === document) this.schedule();
      }),
      panel.onDidChangeViewState(({ webviewPanel }) => {
        if (!webviewPanel.visible) this.channel.detach();
      }),
      panel.onDidDispose(() => this.dispose()),
    );
    openEditors.set(this.doc.path, this);
    void this.inspect();
  }

  get state(): { doc: ManifestDocView; verify: VerifyView } {
    return { doc: this.doc, verify: this.verifyView };
  }

  /** A message as the page would send it: checked on arrival like every other (tests drive the editor so). */
  async receive(m: unknown): Promise<void> {
    if (!isManifestViewMessage(m) || m.type === 'ready') throw new Error(`not a message the page may send: ${JSON.stringify(m)}`);
    await this.handle(m);
  }

  /** Resolves once the worker's next reading of the text is on screen. */
  nextShown(): Promise<void> {
    return new Promise((resolve) => this.shownListeners.push(resolve));
  }

  dispose(): void {
    clearTimeout(this.timer);
    if (openEditors.get(this.doc.path) === this) openEditors.delete(this.doc.path);
    for (const d of this.disposables) d.dispose();
    for (const l of this.shownListeners) l();
    this.shownListeners = [];
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.inspect(), INSPECT_DEBOUNCE_MS);
  }

  private async inspect(): Promise<void> {
    const id = ++this.sequence;
    const text = this.document.getText();
    let inspection: ManifestInspection | null = this.doc.inspection;
    let error: string | null = null;
    try {
      inspection = await this.ctx.worker.request(InspectManifestRequest, { path: this.doc.path, text }, 'reading the manifest');
    } catch (e) {
      error = logError(this.ctx, `Manifest editor (${this.doc.path})`, e).message;
    }
    if (id !== this.sequence) return; // a newer text is being read
    this.doc = { path: this.doc.path, inspection, dirty: this.document.isDirty, error };
    this.channel.post({ type: 'doc', doc: this.doc });
    const listeners = this.shownListeners;
    this.shownListeners = [];
    for (const l of listeners) l();
  }

  private async handle(m: Exclude<ManifestViewToHost, { type: 'ready' }>): Promise<void> {
    switch (m.type) {
      case 'verify':
        return this.verify(m.artifactId);
      case 'chat':
        await vscode.commands.executeCommand('pajamas.chatWithModel', { manifestPath: this.doc.path, artifactId: m.artifactId });
        return;
      case 'reveal':
        await vscode.commands.executeCommand('pajamas.reveal', this.artifactPath(m.artifactId));
        return;
      case 'reevaluate':
        return this.reevaluate();
      case 'openAsJson':
        await openManifestAsJson(this.ctx, this.document.uri, m.line ?? undefined);
        return;
      default:
        return assertNever(m);
    }
  }

  private artifactPath(artifactId: string | null): string {
    const folder = path.dirname(this.doc.path);
    if (artifactId === null) return folder;
    const inspection = this.doc.inspection;
    const artifact = inspection?.valid ? inspection.manifest.artifacts.find((a) => a.id === artifactId) : undefined;
    if (!artifact) throw new UsageError(`the manifest has no artifact "${artifactId}"`);
    return path.resolve(folder, artifact.path);
  }

  private artifactIds(): string[] {
    const inspection = this.doc.inspection;
    return inspection?.valid ? inspection.manifest.artifacts.map((a) => a.id) : [];
  }

  /** Verify and Re-evaluate read the file on disk: unsaved edits would make their answers wrong. */
  private savedFirst(action: string): boolean {
    if (!this.document.isDirty) return true;
    void vscode.window.showWarningMessage(`${action} reads manifest.json from disk: save your edits first.`);
    return false;
  }

  private setVerify(next: Partial<VerifyView>): void {
    this.verifyView = { ...this.verifyView, ...next };
    this.channel.post({ type: 'verify', verify: this.verifyView });
  }

  private async verify(artifactId: string | null): Promise<void> {
    if (this.verifyView.running.length || !this.savedFirst('Verify')) return;
    const ids = artifactId === null ? this.artifactIds() : [artifactId];
    const outcomes = { ...this.verifyView.outcomes };
    for (const id of ids) outcomes[id] = { state: 'running' };
    this.setVerify({ running: ids, progress: null, outcomes, error: null });
    const folder = path.basename(path.dirname(this.doc.path));
    const { jobId, result } = this.ctx.jobs.start({
      kind: 'verify',
      title: `Verifying ${artifactId ?? folder}`,
      send: (id) =>
        this.ctx.worker.request(
          VerifyRequest,
          { jobId: id, manifest: this.doc.path, hashes: true, artifacts: artifactId === null ? undefined : [artifactId] },
          `verifying ${artifactId ?? folder}`,
        ),
    });
    const progress = this.ctx.jobs.onDidChange((e) => {
      if (e.jobId === jobId && !e.finished) this.setVerify({ progress: e.progress });
    });
    try {
      this.setVerify({ running: [], progress: null, outcomes: verifyOutcomes(ids, await result, this.verifyView.outcomes) });
    } catch (error) {
      const e = logError(this.ctx, `Verify ${artifactId ?? folder}`, error);
      const rest = { ...this.verifyView.outcomes };
      for (const id of ids) delete rest[id];
      this.setVerify({
        running: [],
        progress: null,
        outcomes: rest,
        error: e.code === 'cancelled' ? 'Verification cancelled.' : e.message,
      });
    } finally {
      progress.dispose();
    }
  }

  private async reevaluate(): Promise<void> {
    if (!this.savedFirst('Re-evaluate')) return;
    const text = await pickEvaluationText('Re-evaluate: evaluation text');
    if (text === undefined) return;
    const folder = path.basename(path.dirname(this.doc.path));
    const { result } = this.ctx.jobs.start({
      kind: 'evaluate',
      title: `Evaluating ${folder}`,
      send: (jobId) =>
        this.ctx.worker.request(
          EvaluateRequest,
          { jobId, input: this.doc.path, gate: false, text: text === DEFAULT_TEXT ? undefined : text },
          `evaluating ${folder}`,
        ),
    });
    try {
      const report = await result;
      void vscode.window.showInformationMessage(
        `${folder}: evaluated ${report.artifacts.length} artifact(s); the manifest has the results.`,
      );
    } catch (error) {
      void reportError(this.ctx, `Evaluating ${folder}`, error);
    }
  }
}

/** Each verified artifact's outcome: its problems, or fine. Other artifacts keep their last outcome. */
function verifyOutcomes(ids: string[], report: VerifyResult, previous: VerifyView['outcomes']): VerifyView['outcomes'] {
  const outcomes = { ...previous };
  for (const id of ids) {
    const messages = report.problems.filter((p) => p.subject === id).map((p) => `${p.file}: ${p.message}`);
    outcomes[id] = messages.length ? { state: 'problem', messages } : { state: 'ok', hashed: report.hashed };
  }
  return outcomes;
}

function assertNever(m: never): never {
  throw new Error(`unhandled message ${JSON.stringify(m)}`);
}
