/**
 * Activation: build the context, register each feature, hand every disposable to VS Code.
 * Each feature lives in its own module and registers itself through `registerX(ctx)`.
 */
import * as vscode from 'vscode';
import type { PajamasApi } from './api';
import { registerCommands } from './commands';
import { createCtx } from './ctx';

export function activate(context: vscode.ExtensionContext): PajamasApi {
  const ctx = createCtx(context);
  context.subscriptions.push(registerCommands(ctx));

  const testing = context.extensionMode === vscode.ExtensionMode.Production ? undefined : { outputText: () => ctx.output.text() };
  return { apiVersion: 1, testing };
}

export function deactivate(): void {
  // Everything is in context.subscriptions, which VS Code disposes.
}
