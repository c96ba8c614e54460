/**
 * The shared error handler of every command and view: logs the error with its details, then shows
 * a notification whose severity and actions follow the PajamasError code. Core errors carry
 * structured details (which option, which tool, what is missing); this module phrases the hint in
 * the extension's terms, e.g. naming the setting to change instead of a CLI flag.
 */
import * as vscode from 'vscode';
import { asPajamasError, type ErrorCode, type PajamasError } from '../core/errors';
import type { ErrorView } from '../protocol/strategy-view';
import { openSettings, type SettingKey } from './config';
import type { Ctx } from './ctx';

type Action = 'Show Log' | 'Open Settings' | 'Restart Worker';

interface Presentation {
  severity: 'error' | 'warning' | 'none';
  actions: Action[];
}

const PRESENTATION: Record<ErrorCode, Presentation> = {
  usage: { severity: 'warning', actions: [] },
  format: { severity: 'error', actions: ['Show Log'] },
  unsupported: { severity: 'warning', actions: ['Show Log'] },
  tool: { severity: 'error', actions: ['Show Log'] },
  'quality-gate': { severity: 'warning', actions: ['Show Log'] },
  failure: { severity: 'error', actions: ['Show Log'] },
  internal: { severity: 'error', actions: ['Show Log'] },
  // The user asked for it: a line in the log is enough.
  cancelled: { severity: 'none', actions: [] },
};

/** Core option names (in error details) and the settings that set them. */
const OPTION_SETTINGS: Record<string, SettingKey> = {
  outDir: 'outputFolder',
  targets: 'defaultTargets',
  strategies: 'defaultStrategy',
  formats: 'defaultFormats',
  imatrix: 'importanceMatrix',
  binDir: 'llamaCppToolsPath',
  llamaBinDir: 'llamaCppToolsPath',
  python: 'pythonPath',
  mlxPython: 'pythonPath',
};

export interface ErrorAdvice {
  hint: string | null;
  setting: SettingKey | null;
}

/** What the user can do about an error, from its structured details. */
export function adviceFor(e: PajamasError): ErrorAdvice {
  const d = e.data;
  if (Array.isArray(d.missing) && d.missing.length) {
    return {
      hint:
        `Install ${d.missing.join(', ')} so the llama.cpp tools can be built, ` +
        'or set "Pajamas: Llama Cpp Tools Path" to a folder of llama.cpp binaries.',
      setting: 'llamaCppToolsPath',
    };
  }
  if (d.binDir !== undefined || (typeof d.tool === 'string' && d.exitCode === 127)) {
    return {
      hint: 'Check "Pajamas: Llama Cpp Tools Path", or clear it to use the tools that ship with the extension.',
      setting: 'llamaCppToolsPath',
    };
  }
  const option = typeof d.option === 'string' ? OPTION_SETTINGS[d.option] : undefined;
  if (option) return { hint: `Check the "${option}" option or the matching setting.`, setting: option };
  if (d.reason === 'worker-stopped') return { hint: 'Run "Pajamas: Restart Worker".', setting: null };
  return { hint: null, setting: null };
}

/** The error as the webview shows it. */
export function toErrorView(error: unknown): ErrorView {
  const e = asPajamasError(error);
  return { code: e.code, message: e.message, hint: adviceFor(e).hint };
}

/** Writes the error and its details to the log. */
export function logError(ctx: Ctx, title: string, error: unknown): PajamasError {
  const e = asPajamasError(error);
  ctx.output.error(`${title}: [${e.code}] ${e.message}`);
  if (Object.keys(e.data).length) ctx.output.log(`  details: ${JSON.stringify(e.data)}`);
  if (e.code === 'failure' && e.stack?.includes('\n    at ')) ctx.output.log(`  stack: ${e.stack}`);
  if (e.cause instanceof Error && e.cause.stack) ctx.output.log(`  cause: ${e.cause.stack}`);
  return e;
}

/** Logs `error` and tells the user about it; resolves when the notification is dismissed. */
export async function reportError(ctx: Ctx, title: string, error: unknown): Promise<void> {
  const e = logError(ctx, title, error);
  const { severity, actions } = PRESENTATION[e.code];
  if (severity === 'none') return;
  const advice = adviceFor(e);
  const offered: Action[] = [...actions];
  if (advice.setting) offered.push('Open Settings');
  if (e.data.reason === 'worker-stopped') offered.push('Restart Worker');
  const firstLine = e.message.split('\n')[0];
  const message = `${title}: ${firstLine}${advice.hint ? ` ${advice.hint}` : ''}`;
  const choice =
    severity === 'error'
      ? await vscode.window.showErrorMessage(message, ...offered)
      : await vscode.window.showWarningMessage(message, ...offered);
  if (choice === 'Show Log') ctx.output.show();
  else if (choice === 'Open Settings') await openSettings(advice.setting ?? undefined);
  else if (choice === 'Restart Worker') await ctx.worker.restart();
}
