/**
 * The shared error handler of every command: logs the error with its details, then shows a
 * notification whose severity and actions follow the PajamasError code.
 */
import * as vscode from 'vscode';
import { asPajamasError, type ErrorCode } from '../core/errors';
import { openSettings } from './config';
import type { Ctx } from './ctx';

type Action = 'Show Log' | 'Open Settings';

interface Presentation {
  severity: 'error' | 'warning' | 'none';
  actions: Action[];
}

const PRESENTATION: Record<ErrorCode, Presentation> = {
  usage: { severity: 'warning', actions: [] },
  format: { severity: 'error', actions: ['Show Log'] },
  unsupported: { severity: 'warning', actions: ['Show Log'] },
  tool: { severity: 'error', actions: ['Show Log', 'Open Settings'] },
  'quality-gate': { severity: 'warning', actions: ['Show Log'] },
  failure: { severity: 'error', actions: ['Show Log'] },
  internal: { severity: 'error', actions: ['Show Log'] },
  // The user asked for it: a line in the log is enough.
  cancelled: { severity: 'none', actions: [] },
};

/** Logs `error` and tells the user about it; resolves when the notification is dismissed. */
export async function reportError(ctx: Ctx, commandTitle: string, error: unknown): Promise<void> {
  const e = asPajamasError(error);
  ctx.output.error(`${commandTitle}: [${e.code}] ${e.message}`);
  if (Object.keys(e.data).length) ctx.output.log(`  details: ${JSON.stringify(e.data)}`);
  if (e.cause instanceof Error && e.cause.stack) ctx.output.log(`  cause: ${e.cause.stack}`);

  const { severity, actions } = PRESENTATION[e.code];
  if (severity === 'none') return;
  const firstLine = e.message.split('\n')[0];
  const message = `${commandTitle}: ${firstLine}`;
  const choice =
    severity === 'error'
      ? await vscode.window.showErrorMessage(message, ...actions)
      : await vscode.window.showWarningMessage(message, ...actions);
  if (choice === 'Show Log') ctx.output.show();
  else if (choice === 'Open Settings') await openSettings();
}
