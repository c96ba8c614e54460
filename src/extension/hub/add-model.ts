/**
 * "Pajamas: Add Model from the Hub...": a quick pick that searches the Hub as you type (most
 * downloaded text-generation repos first), shows each repo's downloads and, for the highlighted
 * one, its download size and whether this machine has the disk and memory to quantize it; then
 * the download runs in the worker as a job (progress notification with Cancel). A repo id typed
 * in full (`org/name[@revision]`) can be chosen even when search is unavailable (offline, a
 * private repo the listing hides).
 */
import path from 'node:path';
import * as vscode from 'vscode';
import { UsageError, asPajamasError } from '../../core/errors';
import { repoCachePath } from '../../core/hf/cache';
import { isHubRef, parseHubRef } from '../../core/hf/repo-ref';
import { formatBytes } from '../../core/units';
import { HubDownloadRequest, HubFitRequest, HubSearchRequest, type HubDownloadResult, type HubModelFit } from '../../protocol/hub';
import { defaultOutputFolder } from '../config';
import type { Ctx } from '../ctx';
import { toErrorView } from '../errors';
import type { ModelsView } from '../tree';
import { describeFit, describeSearchResult } from './describe';

/** Keystrokes closer together than this make one search. */
const SEARCH_DEBOUNCE_MS = 300;

interface RepoItem extends vscode.QuickPickItem {
  repo: string;
  /** The query itself (a whole repo id), not a search result. */
  typed?: boolean;
}

type PickItem = RepoItem | (vscode.QuickPickItem & { repo?: undefined; typed?: undefined });

/**
 * Runs the command; a repo id string (from a test or another command) skips the picker. Other
 * arguments (the section node whose inline button ran it) are not a choice.
 */
export async function addModelFromHub(ctx: Ctx, models: ModelsView, arg?: unknown): Promise<HubDownloadResult | undefined> {
  const repo = typeof arg === 'string' ? arg.trim() : undefined;
  if (repo !== undefined && !isHubRef(repo))
    throw new UsageError(`"${repo}" is not a Hugging Face repo id (owner/name, optionally @revision)`);
  const chosen = repo ?? (await pickRepo(ctx));
  if (!chosen) return undefined;
  const fit = await ctx.worker
    .request(HubFitRequest, { repo: chosen, outDir: outputFolderFor(chosen) }, `checking ${chosen} on the Hub`)
    .catch((error: unknown) => {
      // Offline, the download still uses a complete cached snapshot (or says what is missing).
      if (asPajamasError(error).data.reason === 'offline') return null;
      throw error;
    });
  if (fit && !(await confirmFit(fit))) return undefined;
  const { result } = ctx.jobs.start({
    kind: 'hubDownload',
    title: `Downloading ${chosen}`,
    send: (jobId) => ctx.worker.request(HubDownloadRequest, { jobId, repo: chosen }, `downloading ${chosen}`),
  });
  const done = await result;
  ctx.output.log(
    `${done.repoId}@${done.commit.slice(0, 7)}: ${done.files} files, ${formatBytes(done.totalBytes)} in ${done.path} ` +
      `(${formatBytes(done.downloadedBytes)} downloaded)`,
  );
  await models.index.refresh();
  void vscode.window
    .showInformationMessage(`${done.repoId} is in the Hugging Face cache (${formatBytes(done.totalBytes)}).`, 'Quantize')
    .then((choice) => (choice === 'Quantize' ? vscode.commands.executeCommand('pajamas.quantize', vscode.Uri.file(done.path)) : undefined));
  return done;
}

/** Where the model's artifacts will go: the Strategy view's default for a snapshot of the cache. */
function outputFolderFor(repo: string): string {
  return defaultOutputFolder(path.join(repoCachePath(parseHubRef(repo).repoId), 'snapshots', '0'.repeat(40)));
}

/** Asks before a download the machine cannot quantize; true to go on. */
async function confirmFit(fit: HubModelFit): Promise<boolean> {
  const { fits, summary } = describeFit(fit);
  if (fits) return true;
  const go = await vscode.window.showWarningMessage(
    `${fit.repoId}: ${summary}`,
    { modal: true, detail: 'The download may still be useful on another machine or with more space freed.' },
    'Download Anyway',
  );
  return go === 'Download Anyway';
}

/** The quick pick; resolves with the chosen `org/name[@revision]`, or undefined when dismissed. */
function pickRepo(ctx: Ctx): Promise<string | undefined> {
  const qp = vscode.window.createQuickPick<PickItem>();
  qp.title = 'Add Model from the Hub';
  qp.placeholder = 'Search the Hugging Face Hub, or type a repo id (owner/name[@revision])';
  qp.matchOnDescription = true;
  qp.matchOnDetail = true;
  const search = new HubSearch(ctx, qp);
  qp.items = [hintItem('Type to search the most downloaded text-generation models.')];
  return new Promise<string | undefined>((resolve) => {
    const subscriptions = [
      qp.onDidChangeValue((value) => search.schedule(value)),
      qp.onDidChangeActive(([item]) => search.fitFor(item)),
      qp.onDidAccept(() => {
        const [item] = qp.selectedItems;
        if (!item?.repo) return; // a hint or an error line
        resolve(item.repo);
        qp.hide();
      }),
      qp.onDidHide(() => {
        resolve(undefined);
        search.dispose();
        vscode.Disposable.from(...subscriptions).dispose();
        qp.dispose();
      }),
    ];
    qp.show();
  });
}

function hintItem(label: string, icon = 'info'): PickItem {
  return { label: `$(${icon}) ${label}`, alwaysShow: true };
}

/** The picker's searches (debounced, the previous one cancelled) and fit checks (one per repo). */
class HubSearch implements vscode.Disposable {
  private timer: NodeJS.Timeout | undefined;
  private running: vscode.CancellationTokenSource | undefined;
  private readonly fits = new Map<string, HubModelFit | string | null>();
  private items: PickItem[] = [];
  private disposed = false;

  constructor(
    private readonly ctx: Ctx,
    private readonly qp: vscode.QuickPick<PickItem>,
  ) {}

  schedule(value: string): void {
    clearTimeout(this.timer);
    this.running?.cancel();
    const query = value.trim();
    if (!query) {
      this.show([hintItem('Type to search the most downloaded text-generation models.')]);
      return;
    }
    // The last results stay (busy) until the new ones come, with the typed repo id on top.
    const typed = this.typedItem(query);
    const previous = this.items.filter((i) => i.repo && !i.typed && !typed.some((t) => t.repo === i.repo));
    this.show([...typed, ...previous], true);
    this.timer = setTimeout(() => void this.search(query), SEARCH_DEBOUNCE_MS);
  }

  private async search(query: string): Promise<void> {
    const source = new vscode.CancellationTokenSource();
    this.running = source;
    try {
      const found = await this.ctx.worker.request(HubSearchRequest, { query }, 'searching the Hub', source.token);
      if (source.token.isCancellationRequested || this.disposed) return;
      const items: PickItem[] = found.map((r) => ({
        repo: r.repoId,
        label: r.repoId,
        description: describeSearchResult(r),
        alwaysShow: true,
      }));
      const typed = this.typedItem(query).filter((t) => !found.some((r) => r.repoId === t.repo));
      this.show([...typed, ...items, ...(items.length ? [] : [hintItem(`No text-generation model matches "${query}".`)])]);
    } catch (error) {
      if (source.token.isCancellationRequested || this.disposed) return;
      this.show([...this.typedItem(query), hintItem(`Search failed: ${toErrorView(error).message}`, 'warning')]);
    } finally {
      if (this.running === source) this.qp.busy = false;
      source.dispose();
    }
  }

  /** The query itself, when it is a whole repo id: choosable without a search result. */
  private typedItem(query: string): PickItem[] {
    if (!isHubRef(query)) return [];
    return [{ repo: query, typed: true, label: query, description: 'download this repo id', alwaysShow: true }];
  }

  private show(items: PickItem[], busy = false): void {
    this.items = items;
    this.qp.busy = busy;
    this.qp.items = items.map((i) => this.withFit(i));
  }

  /** Checks the highlighted repo's size and fit once, then shows it in the item's detail. */
  fitFor(item: PickItem | undefined): void {
    const repo = item?.repo;
    if (!repo || this.fits.has(repo)) return;
    this.fits.set(repo, null);
    this.ctx.worker.request(HubFitRequest, { repo, outDir: outputFolderFor(repo) }, `checking ${repo}`).then(
      (fit) => this.fitArrived(repo, fit),
      (error: unknown) => this.fitArrived(repo, `size unknown: ${toErrorView(error).message}`),
    );
  }

  private fitArrived(repo: string, fit: HubModelFit | string): void {
    this.fits.set(repo, fit);
    if (this.disposed || !this.items.some((i) => i.repo === repo)) return;
    const active = this.qp.activeItems[0]?.repo;
    this.qp.items = this.items.map((i) => this.withFit(i));
    const again = this.qp.items.find((i) => i.repo === active);
    if (again) this.qp.activeItems = [again];
  }

  private withFit(item: PickItem): PickItem {
    if (!item.repo) return item;
    const fit = this.fits.get(item.repo);
    if (fit === undefined) return item;
    const detail = fit === null ? '$(loading~spin) checking size and fit…' : typeof fit === 'string' ? fit : describeFit(fit).summary;
    return { ...item, detail };
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.timer);
    this.running?.cancel();
  }
}
