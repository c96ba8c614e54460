/**
 * Which manifest.json opens in the manifest editor. The editor is registered with priority
 * "option" (a glob cannot tell our manifests from a web app's or a browser extension's), so a
 * text tab that opens on a Llama-Pajamas manifest (by its $schema or manifestVersion, see
 * core/manifest/identify.ts) is reopened in the manifest editor in its place. A file the user
 * chose to see as JSON stays JSON for the rest of the session. The `pajamas.manifestAsText`
 * context key shows "Open in Manifest Editor" on such a text editor's title bar.
 */
import path from 'node:path';
import * as vscode from 'vscode';
import { looksLikePajamasManifest } from '../../core/manifest/identify';
import { MANIFEST_FILE } from '../../core/manifest/types';
import { MANIFEST_EDITOR_VIEW_TYPE } from '../../protocol/manifest-editor';
import type { Ctx } from '../ctx';

export const MANIFEST_AS_TEXT_CONTEXT = 'pajamas.manifestAsText';

/** Files (Uri strings) the user opened as JSON in this session: not taken over again. */
const openedAsJson = new Set<string>();

export function isManifestFileUri(uri: vscode.Uri): boolean {
  return uri.scheme === 'file' && path.basename(uri.fsPath) === MANIFEST_FILE;
}

/** True when the file's text (as an open document, or on disk) is a Llama-Pajamas manifest. */
export async function isPajamasManifest(uri: vscode.Uri): Promise<boolean> {
  if (!isManifestFileUri(uri)) return false;
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  if (open) return looksLikePajamasManifest(open.getText());
  const bytes = await vscode.workspace.fs.readFile(uri).then(
    (b) => b,
    () => null,
  );
  return bytes !== null && looksLikePajamasManifest(new TextDecoder().decode(bytes));
}

export function rememberOpenedAsJson(uri: vscode.Uri, asJson: boolean): void {
  if (asJson) openedAsJson.add(uri.toString());
  else openedAsJson.delete(uri.toString());
}

export function registerManifestAutoOpen(ctx: Ctx): vscode.Disposable {
  const handling = new Set<string>();
  const takeOver = async (tab: vscode.Tab) => {
    const input = tab.input;
    if (!(input instanceof vscode.TabInputText) || !isManifestFileUri(input.uri)) return;
    const key = input.uri.toString();
    if (openedAsJson.has(key) || handling.has(key) || !(await isPajamasManifest(input.uri))) return;
    handling.add(key);
    try {
      await vscode.commands.executeCommand('vscode.openWith', input.uri, MANIFEST_EDITOR_VIEW_TYPE, {
        viewColumn: tab.group.viewColumn,
        preview: tab.isPreview,
        preserveFocus: !tab.isActive,
      });
      // Looked up again: tab objects change as their group does, and a preview may be gone already.
      const still = vscode.window.tabGroups.all
        .filter((g) => g.viewColumn === tab.group.viewColumn)
        .flatMap((g) => g.tabs)
        .filter((t) => t.input instanceof vscode.TabInputText && t.input.uri.toString() === key);
      if (still.length) await vscode.window.tabGroups.close(still, true);
    } catch (error) {
      ctx.output.error(`could not open ${input.uri.fsPath} in the manifest editor: ${String(error)}`);
    } finally {
      handling.delete(key);
    }
  };
  const updateContext = async () => {
    const uri = vscode.window.activeTextEditor?.document.uri;
    const asText = uri !== undefined && (await isPajamasManifest(uri));
    await vscode.commands.executeCommand('setContext', MANIFEST_AS_TEXT_CONTEXT, asText);
  };
  for (const group of vscode.window.tabGroups.all) for (const tab of group.tabs) void takeOver(tab);
  void updateContext();
  return vscode.Disposable.from(
    vscode.window.tabGroups.onDidChangeTabs((e) => {
      for (const tab of [...e.opened, ...e.changed]) void takeOver(tab);
    }),
    vscode.window.onDidChangeActiveTextEditor(() => void updateContext()),
  );
}
