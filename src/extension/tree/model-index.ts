/**
 * What the Pajamas view lists: one `pajamas/listModels` answer from the worker, refreshed when
 * model or manifest files change in the workspace or the Hugging Face cache, when a job ends, and
 * on demand. Bursts of file events are folded into one refresh.
 */
import path from 'node:path';
import * as vscode from 'vscode';
import type { ModelListing } from '../../protocol/models';
import { ListModelsRequest } from '../../protocol/worker';
import type { Ctx } from '../ctx';
import { logError } from '../errors';

/** File events within this window cause one refresh. */
export const REFRESH_DEBOUNCE_MS = 400;
const MODEL_FILES = '**/{config.json,manifest.json,*.safetensors,*.gguf}';

export type IndexState = { kind: 'idle' } | { kind: 'loaded'; listing: ModelListing } | { kind: 'failed'; message: string };

export class ModelIndex implements vscode.Disposable {
  private state: IndexState = { kind: 'idle' };
  private inFlight: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [];
  private hfWatcher: { root: string; watcher: vscode.FileSystemWatcher } | undefined;
  /** Wall time of the last refresh, request to listing (for the figures in the tests). */
  lastRefreshMs = 0;

  constructor(private readonly ctx: Ctx) {
    const watcher = vscode.workspace.createFileSystemWatcher(MODEL_FILES);
    // A folder deleted whole sends one event, for the folder: listen to every delete, act on those that hold a listed path.
    const deletions = vscode.workspace.createFileSystemWatcher('**/*', true, true, false);
    this.disposables.push(
      watcher,
      deletions,
      deletions.onDidDelete((uri) => {
        if (this.lists(uri.fsPath)) this.scheduleRefresh(`${uri.fsPath} went away`);
      }),
      watcher.onDidCreate((uri) => this.scheduleRefresh(`${uri.fsPath} appeared`)),
      watcher.onDidDelete((uri) => this.scheduleRefresh(`${uri.fsPath} went away`)),
      watcher.onDidChange((uri) => {
        if (uri.path.endsWith('/manifest.json')) this.scheduleRefresh(`${uri.fsPath} changed`);
      }),
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.scheduleRefresh()),
      ctx.jobs.onDidChange((e) => {
        if (e.finished) this.scheduleRefresh();
      }),
      ctx.worker.onDidRestart(() => this.scheduleRefresh()),
    );
  }

  /** True when a listed model or artifact folder is `p` or lies inside it. */
  private lists(p: string): boolean {
    if (this.state.kind !== 'loaded') return false;
    const { workspace, artifacts } = this.state.listing;
    const inside = (q: string) => q === p || q.startsWith(p + path.sep);
    return workspace.some((m) => inside(m.path)) || artifacts.some((a) => inside(a.folder));
  }

  get current(): IndexState {
    return this.state;
  }

  /** The listing, loading it first if nothing was loaded yet. */
  async ensure(): Promise<IndexState> {
    if (this.state.kind === 'idle') await this.refresh();
    return this.state;
  }

  scheduleRefresh(why?: string): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (why) this.ctx.output.log(`${why}: listing the models again`);
      void this.refresh();
    }, REFRESH_DEBOUNCE_MS);
  }

  /** Lists again; a refresh asked for while one runs runs once more after it. */
  refresh(): Promise<void> {
    if (this.inFlight) {
      this.again = true;
      return this.inFlight;
    }
    this.inFlight = this.load().finally(() => {
      this.inFlight = undefined;
      if (this.again) {
        this.again = false;
        void this.refresh();
      }
    });
    return this.inFlight;
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.hfWatcher?.watcher.dispose();
    for (const d of this.disposables) d.dispose();
    this.changed.dispose();
  }

  private async load(): Promise<void> {
    const started = performance.now();
    const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
    try {
      const listing = await this.ctx.worker.request(ListModelsRequest, { workspaceFolders: folders, hfCache: true }, 'listing models');
      this.state = { kind: 'loaded', listing };
      this.watchHfCache(listing.hfCache?.root ?? '');
    } catch (error) {
      const e = logError(this.ctx, 'Listing models', error);
      this.state = { kind: 'failed', message: e.message.split('\n')[0]! };
    }
    this.lastRefreshMs = performance.now() - started;
    this.changed.fire();
  }

  /** Python tools and the Hub downloads change the cache outside the workspace: watch it too. */
  private watchHfCache(root: string): void {
    if (this.hfWatcher?.root === root) return;
    this.hfWatcher?.watcher.dispose();
    this.hfWatcher = undefined;
    if (!root) return;
    const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(root), '*/snapshots/*/*'));
    watcher.onDidCreate(() => this.scheduleRefresh());
    watcher.onDidDelete(() => this.scheduleRefresh());
    this.hfWatcher = { root, watcher };
  }
}
