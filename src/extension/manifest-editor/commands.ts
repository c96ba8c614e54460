/**
 * "Open as JSON" and "Open in Manifest Editor": switching one manifest.json between the manifest
 * editor and the text editor, in the same editor group, in place of the other.
 */
import * as vscode from 'vscode';
import { UsageError } from '../../core/errors';
import { MANIFEST_EDITOR_VIEW_TYPE } from '../../protocol/manifest-editor';
import type { Ctx } from '../ctx';
import { isManifestFileUri, isPajamasManifest, rememberOpenedAsJson } from './auto-open';

/** The manifest a command is about: its argument (editor title bar, explorer), else the active tab's. */
function manifestUri(arg: unknown): vscode.Uri {
  if (arg instanceof vscode.Uri && isManifestFileUri(arg)) return arg;
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  const uri = input instanceof vscode.TabInputText || input instanceof vscode.TabInputCustom ? input.uri : undefined;
  if (uri && isManifestFileUri(uri)) return uri;
  throw new UsageError('open a manifest.json first');
}

/** The tabs showing `uri` in one kind of editor. */
function tabsOf(uri: vscode.Uri, custom: boolean): vscode.Tab[] {
  return vscode.window.tabGroups.all
    .flatMap((g) => g.tabs)
    .filter((t) =>
      custom
        ? t.input instanceof vscode.TabInputCustom &&
          t.input.viewType === MANIFEST_EDITOR_VIEW_TYPE &&
          t.input.uri.toString() === uri.toString()
        : t.input instanceof vscode.TabInputText && t.input.uri.toString() === uri.toString(),
    );
}

/** Closes the tabs (looked up after the other editor opened: tab objects change when a group does). */
async function closeTabs(tabs: vscode.Tab[]): Promise<void> {
  if (tabs.length) await vscode.window.tabGroups.close(tabs, true);
}

/** Shows the manifest's text in place of the manifest editor, at `line` (1-based) when given. */
export async function openManifestAsJson(_ctx: Ctx, arg?: unknown, line?: number): Promise<vscode.TextEditor> {
  const uri = manifestUri(arg);
  rememberOpenedAsJson(uri, true);
  const column = tabsOf(uri, true)[0]?.group.viewColumn;
  const editor = await vscode.window.showTextDocument(uri, { viewColumn: column, preview: false });
  if (line !== undefined) {
    const position = new vscode.Position(Math.max(0, line - 1), 0);
    editor.selection = new vscode.Selection(position, position);
    editor.revealRange(new vscode.Range(position, position), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  }
  await closeTabs(tabsOf(uri, true));
  return editor;
}

/** Shows a Llama-Pajamas manifest in the manifest editor, in place of its text editor. */
export async function openManifestEditor(_ctx: Ctx, arg?: unknown): Promise<void> {
  const uri = manifestUri(arg);
  if (!(await isPajamasManifest(uri)))
    throw new UsageError(`${uri.fsPath} is not a Llama-Pajamas manifest (it has neither our "$schema" nor a "manifestVersion")`);
  rememberOpenedAsJson(uri, false);
  const column = tabsOf(uri, false)[0]?.group.viewColumn;
  await vscode.commands.executeCommand('vscode.openWith', uri, MANIFEST_EDITOR_VIEW_TYPE, { viewColumn: column });
  await closeTabs(tabsOf(uri, false));
}
