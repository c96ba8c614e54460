/**
 * "Pajamas: Show Architecture": detects a model's architecture (HF folder, config.json or .gguf)
 * in the worker and writes the detection result and the plan summary to the "Llama-Pajamas"
 * output channel, with a cancellable progress notification while the worker reads the headers.
 */
import path from 'node:path';
import * as vscode from 'vscode';
import { formatArchitecture } from '../../core/arch/format';
import { PajamasError } from '../../core/errors';
import { formatPlanSummary } from '../../core/plan/format';
import type { PlanTarget } from '../../core/plan/types';
import { DetectRequest, PlanRequest } from '../../protocol/worker';
import { readConfig } from '../config';
import type { Ctx } from '../ctx';
import { activeFile, isModelFile, pathsFromArgs, pickModel } from '../pick';

/** The detection block, then the summary of the pajamas plan for `target`, both from the worker. */
export async function describeModel(ctx: Ctx, input: string, target: PlanTarget, token: vscode.CancellationToken): Promise<string> {
  try {
    const { arch, plan } = await ctx.worker.request(PlanRequest, { model: input, target, strategy: 'pajamas' }, 'planning', token);
    return `${formatArchitecture(arch)}\n\n${formatPlanSummary(plan)}`;
  } catch (error) {
    if (!(error instanceof PajamasError) || error.code !== 'unsupported') throw error;
    // An architecture the planner does not handle yet is still worth showing.
    const arch = await ctx.worker.request(DetectRequest, { model: input }, 'detecting', token);
    return `${formatArchitecture(arch)}\n\nPlan (${target}): not available: ${error.message}`;
  }
}

/** Command handler. Arguments: explorer `(uri, selectedUris)`, a Uri, a path string, or none. */
export async function showArchitecture(ctx: Ctx, ...args: unknown[]): Promise<string | undefined> {
  const inputs = pathsFromArgs(args, 'a folder, a config.json or a .gguf file');
  if (!inputs.length) {
    const picked = activeFile(isModelFile) ?? (await pickModel('Show Architecture'));
    if (!picked) return undefined; // the user dismissed the picker
    inputs.push(picked);
  }
  const defaultTarget = readConfig().defaultTargets[0]!;
  const texts: string[] = [];
  for (const input of inputs) {
    ctx.output.log(`Show Architecture: ${input} (plan target ${defaultTarget})`);
    const text = await withCancellableProgress(`Detecting ${path.basename(input)}`, (token) =>
      describeModel(ctx, input, defaultTarget, token),
    );
    ctx.output.block(text);
    texts.push(text);
  }
  ctx.output.show();
  return texts.join('\n\n');
}

/**
 * Runs `job` under a progress notification: the Notification location is the one where VS Code
 * shows a Cancel button (the status bar shows none), and its token cancels the worker's request.
 */
function withCancellableProgress<T>(title: string, job: (token: vscode.CancellationToken) => Promise<T>): Thenable<T> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (_p, token) =>
    job(token),
  );
}
