/**
 * The only module that reads settings. Everything else asks it, so a setting's name, default and
 * validation live in one place and match `contributes.configuration` in package.json (the in-host
 * suite checks both ways).
 */
import os from 'node:os';
import path from 'node:path';
import * as vscode from 'vscode';
import type { OutputFormat } from '../core/pipeline/options';
import { PLAN_TARGETS, type PlanTarget } from '../core/plan/types';
import { repoIdFromFolderName } from '../core/hf/cache';
import { OUTPUT_FORMAT_CHOICES, type StrategyChoice } from '../protocol/strategy-view';

export const CONFIG_SECTION = 'pajamas';

/** Every setting, by its key under `pajamas.`; package.json declares exactly these. */
export const SETTINGS = {
  outputFolder: 'outputFolder',
  defaultTargets: 'defaultTargets',
  defaultStrategy: 'defaultStrategy',
  defaultFormats: 'defaultFormats',
  importanceMatrix: 'importanceMatrix',
  evaluate: 'evaluate',
  threads: 'threads',
  llamaCppToolsPath: 'llamaCppToolsPath',
  pythonPath: 'pythonPath',
} as const;
export type SettingKey = keyof typeof SETTINGS;

/** Settings the worker reads from its environment: changing one restarts it. */
export const WORKER_SETTINGS: readonly SettingKey[] = ['threads', 'llamaCppToolsPath', 'pythonPath'];

export interface PajamasConfig {
  /** '' = next to the model; may contain ${modelName}. */
  outputFolder: string;
  defaultTargets: PlanTarget[];
  defaultStrategy: StrategyChoice;
  defaultFormats: OutputFormat[];
  importanceMatrix: 'auto' | 'off';
  evaluate: boolean;
  /** 0 = every core. */
  threads: number;
  llamaCppToolsPath: string;
  pythonPath: string;
}

export function readConfig(): PajamasConfig {
  const c = vscode.workspace.getConfiguration(CONFIG_SECTION);
  const targets = (c.get<unknown[]>(SETTINGS.defaultTargets) ?? []).filter((t): t is PlanTarget => PLAN_TARGETS.includes(t as PlanTarget));
  const formats = (c.get<unknown[]>(SETTINGS.defaultFormats) ?? []).filter((f): f is OutputFormat =>
    OUTPUT_FORMAT_CHOICES.includes(f as OutputFormat),
  );
  const strategy = c.get<string>(SETTINGS.defaultStrategy);
  const threads = c.get<number>(SETTINGS.threads) ?? 0;
  return {
    outputFolder: (c.get<string>(SETTINGS.outputFolder) ?? '').trim(),
    defaultTargets: targets.length ? targets : ['Q4_K_M'],
    defaultStrategy: strategy === 'naive' || strategy === 'both' ? strategy : 'pajamas',
    defaultFormats: formats.length ? formats : ['gguf', 'mlx'],
    importanceMatrix: c.get<string>(SETTINGS.importanceMatrix) === 'off' ? 'off' : 'auto',
    evaluate: c.get<boolean>(SETTINGS.evaluate) ?? true,
    threads: Number.isInteger(threads) && threads > 0 ? threads : 0,
    llamaCppToolsPath: (c.get<string>(SETTINGS.llamaCppToolsPath) ?? '').trim(),
    pythonPath: (c.get<string>(SETTINGS.pythonPath) ?? '').trim(),
  };
}

/** A snapshot of the Hugging Face cache: `.../models--<org>--<name>/snapshots/<commit>[/...]`. */
const HF_SNAPSHOT = /[\\/](models--[^\\/]+)[\\/]snapshots[\\/][0-9a-f]{40}(?:[\\/]|$)/;

/** The repo a path of the Hugging Face cache belongs to, or null. */
export function hfCacheRepo(modelPath: string): string | null {
  const folder = HF_SNAPSHOT.exec(modelPath)?.[1];
  return folder ? repoIdFromFolderName(folder) : null;
}

/** A model's short name: the repo's name for the Hugging Face cache, else the folder or file name. */
export function modelName(modelPath: string): string {
  const repo = hfCacheRepo(modelPath);
  if (repo && !/\.gguf$/i.test(modelPath)) return repo.split('/').pop()!;
  return path.basename(modelPath).replace(/\.gguf$/i, '');
}

/**
 * Where the outputs of `model` go by default: the setting, else `<model>-pajamas` beside it. A model
 * in the Hugging Face cache is never written beside (that is the cache's own layout): its outputs go
 * to the first workspace folder, or the home folder.
 */
export function defaultOutputFolder(modelPath: string, config: PajamasConfig = readConfig()): string {
  const name = modelName(modelPath);
  const beside = hfCacheRepo(modelPath)
    ? (vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file')?.uri.fsPath ?? os.homedir())
    : path.dirname(modelPath);
  if (!config.outputFolder) return path.join(beside, `${name}-pajamas`);
  const folder = config.outputFolder.replace(/\$\{modelName\}/g, name);
  const absolute = path.isAbsolute(folder) ? folder : path.resolve(beside, folder);
  return config.outputFolder.includes('${modelName}') ? absolute : path.join(absolute, `${name}-pajamas`);
}

export function affectsWorker(event: vscode.ConfigurationChangeEvent): boolean {
  return WORKER_SETTINGS.some((k) => event.affectsConfiguration(`${CONFIG_SECTION}.${SETTINGS[k]}`));
}

/** Opens the Settings editor at one setting, or at all of this extension's settings. */
export async function openSettings(setting?: SettingKey): Promise<void> {
  const query = setting ? `${CONFIG_SECTION}.${SETTINGS[setting]}` : '@ext:llama-pajamas.llama-pajamas';
  await vscode.commands.executeCommand('workbench.action.openSettings', query);
}
