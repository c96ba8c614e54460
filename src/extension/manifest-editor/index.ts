/**
 * The manifest editor: a CustomTextEditorProvider for Llama-Pajamas manifest.json files, registered
 * with priority "option" in package.json and opened for our manifests only (./auto-open.ts).
 */
import * as vscode from 'vscode';
import { MANIFEST_EDITOR_VIEW_TYPE } from '../../protocol/manifest-editor';
import type { Ctx } from '../ctx';
import { registerManifestAutoOpen } from './auto-open';
import { ManifestEditor } from './editor';

class ManifestEditorProvider implements vscode.CustomTextEditorProvider {
  constructor(private readonly ctx: Ctx) {}

  resolveCustomTextEditor(document: vscode.TextDocument, panel: vscode.WebviewPanel): void {
    new ManifestEditor(this.ctx, document, panel);
  }
}

export function registerManifestEditor(ctx: Ctx): vscode.Disposable {
  return vscode.Disposable.from(
    vscode.window.registerCustomEditorProvider(MANIFEST_EDITOR_VIEW_TYPE, new ManifestEditorProvider(ctx), {
      // The page is rebuilt when shown again (ready -> init brings its state back): no hidden pages kept.
      webviewOptions: { retainContextWhenHidden: false },
      supportsMultipleEditorsPerDocument: true,
    }),
    registerManifestAutoOpen(ctx),
  );
}
