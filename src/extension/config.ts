/**
 * The only module that reads settings. Everything else asks it, so a setting's name, default and
 * validation live in one place and match `contributes.configuration` in package.json.
 */
import * as vscode from 'vscode';
import { PLAN_TARGETS, type PlanTarget } from '../core/plan/types';

export const CONFIG_SECTION = 'pajamas';

export interface PajamasConfig {
  /** The quantization target whose plan "Show Architecture" summarises. */
  defaultTarget: PlanTarget;
}

export function readConfig(): PajamasConfig {
  const c = vscode.workspace.getConfiguration(CONFIG_SECTION);
  const target = c.get<string>('defaultTarget');
  return {
    defaultTarget: PLAN_TARGETS.find((t) => t === target) ?? 'Q4_K_M',
  };
}

/** Opens the Settings editor filtered to this extension's settings. */
export async function openSettings(): Promise<void> {
  await vscode.commands.executeCommand('workbench.action.openSettings', `@ext:llama-pajamas.llama-pajamas`);
}
