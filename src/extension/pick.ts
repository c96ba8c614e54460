/**
 * Which model or manifest a command works on: from its arguments (explorer click and selection, a
 * Pajamas view node, a Uri, a path), else the active editor's file, else a quick pick of the
 * workspace's candidates with a "Choose..." dialog at the end.
 */
import path from 'node:path';
import * as vscode from 'vscode';
import { UsageError } from '../core/errors';

/** How many candidates the picker lists before asking for a folder instead. */
export const MAX_PICK_CANDIDATES = 50;
const EXCLUDE = '**/{node_modules,.git}/**';

/** Local paths from a command's arguments (an explorer multi-selection wins over the clicked item). */
export function pathsFromArgs(args: unknown[], what: string): string[] {
  const [first, second] = args;
  const selection = Array.isArray(second) && second.length ? second : first === undefined ? [] : [first];
  return selection.map((a) => toLocalPath(a, what));
}

export function toLocalPath(arg: unknown, what: string): string {
  if (typeof arg === 'string' && arg.length) return arg;
  if (arg instanceof vscode.Uri) {
    if (arg.scheme !== 'file') throw new UsageError(`"${arg.toString()}" is not a local file; Llama-Pajamas works on local files only`);
    return arg.fsPath;
  }
  // A Pajamas view node (see tree/nodes.ts).
  if (typeof arg === 'object' && arg !== null && typeof (arg as { path?: unknown }).path === 'string')
    return (arg as { path: string }).path;
  throw new UsageError(`expected ${what}`);
}

export function isModelFile(p: string): boolean {
  return path.basename(p) === 'config.json' || p.toLowerCase().endsWith('.gguf');
}

/** The file of the active editor tab, when it passes `accept`. */
export function activeFile(accept: (p: string) => boolean): string | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  const uri = input instanceof vscode.TabInputText || input instanceof vscode.TabInputCustom ? input.uri : undefined;
  return uri?.scheme === 'file' && accept(uri.fsPath) ? uri.fsPath : undefined;
}

interface Pick extends vscode.QuickPickItem {
  input?: string;
}

/** The workspace's models: folders by their config.json, and .gguf files; or a file dialog. */
export function pickModel(title: string): Promise<string | undefined> {
  return pickFrom(title, '**/{config.json,*.gguf}', (f) => {
    const gguf = f.fsPath.toLowerCase().endsWith('.gguf');
    const model = gguf ? f : vscode.Uri.joinPath(f, '..');
    return { label: vscode.workspace.asRelativePath(model), description: gguf ? 'GGUF file' : 'Hugging Face folder', input: model.fsPath };
  });
}

/** The workspace's manifest.json files; or a file dialog. */
export function pickManifest(title: string): Promise<string | undefined> {
  return pickFrom(title, '**/manifest.json', (f) => ({ label: vscode.workspace.asRelativePath(f), input: f.fsPath }));
}

/** The default evaluation text, as `pickEvaluationText` answers it. */
export const DEFAULT_TEXT = '';

/** A text to evaluate on: the project's own (DEFAULT_TEXT), a workspace .txt file, or any file. */
export function pickEvaluationText(title: string): Promise<string | undefined> {
  const builtIn: Pick = { label: "$(book) The project's evaluation text", description: 'default', input: DEFAULT_TEXT };
  return pickFrom(title, '**/*.txt', (f) => ({ label: vscode.workspace.asRelativePath(f), input: f.fsPath }), [builtIn]);
}

async function pickFrom(title: string, glob: string, toItem: (f: vscode.Uri) => Pick, leading: Pick[] = []): Promise<string | undefined> {
  const files = await vscode.workspace.findFiles(glob, EXCLUDE, MAX_PICK_CANDIDATES);
  const items = files
    .filter((f) => f.scheme === 'file')
    .map(toItem)
    .sort((a, b) => a.label.localeCompare(b.label));
  const browse: Pick = { label: '$(folder-opened) Choose a folder or file...', alwaysShow: true };
  const picked = await vscode.window.showQuickPick<Pick>([...leading, ...items, browse], {
    title,
    placeHolder: items.length ? 'Pick one' : 'None found in the workspace',
    matchOnDescription: true,
  });
  if (!picked) return undefined;
  if (picked.input !== undefined) return picked.input;
  const chosen = await vscode.window.showOpenDialog({ title, canSelectFiles: true, canSelectFolders: true, canSelectMany: false });
  return chosen?.[0] ? toLocalPath(chosen[0], 'a local file or folder') : undefined;
}
