/**
 * Activation: build the context, register each feature, hand every disposable to VS Code. It stays
 * short (the worker starts on first use, not here); each feature registers itself through
 * `registerX(ctx)`.
 */
import * as vscode from 'vscode';
import type { PajamasApi } from './api';
import { registerChatView } from './chat';
import { registerCommands } from './commands';
import { registerManifestEditor } from './manifest-editor';
import { createCtx } from './ctx';
import { registerModelsView } from './tree';
import { startWorkerForModelFiles } from './worker/model-files';
import { testingApi } from './testing';

export function activate(context: vscode.ExtensionContext): PajamasApi {
  const started = sample();
  const ctx = createCtx(context);
  const models = registerModelsView(ctx);
  const chat = registerChatView(ctx, models);
  context.subscriptions.push(models, chat, registerCommands(ctx, models, chat), startWorkerForModelFiles(ctx), registerManifestEditor(ctx));
  const activation = activationCost(started, sample());
  ctx.output.log(
    `Llama-Pajamas activated: ${activation.wallMs.toFixed(0)} ms (${activation.cpuMs.toFixed(0)} ms of CPU) loading and activating`,
  );
  const testing = context.extensionMode === vscode.ExtensionMode.Production ? undefined : testingApi(ctx, models, activation, chat);
  return { apiVersion: 1, registerModelsSection: (s) => models.provider.registerSection(s), testing };
}

export function deactivate(): void {
  // Everything is in context.subscriptions, which VS Code disposes (the worker is stopped there).
}

interface Sample {
  wall: number;
  cpu: NodeJS.CpuUsage;
}

function sample(): Sample {
  return { wall: performance.now(), cpu: process.cpuUsage() };
}

const cpuMs = (from: Sample, to: Sample) => (to.cpu.user - from.cpu.user + to.cpu.system - from.cpu.system) / 1000;

/**
 * Evaluating this bundle (from its first line, set by esbuild's banner, to the end of this module)
 * plus the activate() call, in wall time and in CPU time. VS Code may run other work between the
 * two; it is not counted. CPU time is what this extension costs even on a machine busy with others.
 */
const loaded = sample();
const loadStart = (globalThis as { __pajamasLoadStart?: Sample }).__pajamasLoadStart ?? loaded;

export interface ActivationCost {
  wallMs: number;
  cpuMs: number;
}

function activationCost(activateStart: Sample, activateEnd: Sample): ActivationCost {
  return {
    wallMs: loaded.wall - loadStart.wall + (activateEnd.wall - activateStart.wall),
    cpuMs: cpuMs(loadStart, loaded) + cpuMs(activateStart, activateEnd),
  };
}
