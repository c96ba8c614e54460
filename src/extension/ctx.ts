/**
 * The one context object every feature receives: the extension context, the output channel and
 * the error handler. Features get what they need from here instead of from module globals.
 */
import type * as vscode from 'vscode';
import { PajamasOutput } from './output';

export interface Ctx {
  readonly extension: vscode.ExtensionContext;
  readonly output: PajamasOutput;
}

export function createCtx(extension: vscode.ExtensionContext): Ctx {
  const output = new PajamasOutput();
  extension.subscriptions.push(output);
  return { extension, output };
}
