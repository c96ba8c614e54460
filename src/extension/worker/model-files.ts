/**
 * The worker is also the language server for model files (hover on config.json, diagnostics on
 * manifest.json). It is started when such a file is open, not at activation, so activating the
 * extension costs no process.
 */
import path from 'node:path';
import * as vscode from 'vscode';
import type { Ctx } from '../ctx';

const SERVED = new Set(['config.json', 'manifest.json']);

function served(doc: vscode.TextDocument): boolean {
  return doc.uri.scheme === 'file' && SERVED.has(path.basename(doc.uri.fsPath));
}

export function startWorkerForModelFiles(ctx: Ctx): vscode.Disposable {
  const start = () => void ctx.worker.start().catch((e: unknown) => ctx.output.error(`the worker did not start: ${String(e)}`));
  if (vscode.workspace.textDocuments.some(served)) {
    start();
    return new vscode.Disposable(() => undefined);
  }
  const listener = vscode.workspace.onDidOpenTextDocument((doc) => {
    if (!served(doc)) return;
    listener.dispose();
    start();
  });
  return listener;
}
