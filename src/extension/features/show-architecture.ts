/**
 * "Pajamas: Show Architecture": detects a model's architecture (HF folder, config.json or .gguf)
 * and writes the detection result and the plan summary to the "Llama-Pajamas" output channel.
 * Header-only reads, so it runs in the extension host (DESIGN.md allows core for those).
 */
import path from 'node:path';
import * as vscode from 'vscode';
import { detectArchitecture } from '../../core/arch/detect';
import { formatArchitecture } from '../../core/arch/format';
import { CancelledError, UnsupportedError, UsageError } from '../../core/errors';
import { formatPlanSummary } from '../../core/plan/format';
import { planModel } from '../../core/plan/load';
import type { PlanTarget } from '../../core/plan/types';
import { readConfig } from '../config';
import type { Ctx } from '../ctx';

/** How many config.json / .gguf files the picker lists before asking for a folder instead. */
export const MAX_PICK_CANDIDATES = 50;
const CANDIDATE_GLOB = '**/{config.json,*.gguf}';
const CANDIDATE_EXCLUDE = '**/{node_modules,.git}/**';

/**
 * The one place where this feature calls core: the detection block, then the summary of the
 * pajamas plan for `target`. Header reads only (config.json, safetensors and GGUF headers).
 */
export async function describeModel(input: string, target: PlanTarget, signal: AbortSignal): Promise<string> {
  try {
    const { arch, plan } = await planModel(input, { target, strategy: 'pajamas' }, { signal });
    return `${formatArchitecture(arch)}\n\n${formatPlanSummary(plan)}`;
  } catch (error) {
    if (!(error instanceof UnsupportedError)) throw error;
    // An architecture the planner does not handle yet is still worth showing.
    const arch = await detectArchitecture(input, { signal });
    return `${formatArchitecture(arch)}\n\nPlan (${target}): not available: ${error.message}`;
  }
}

/** Command handler. Arguments: explorer `(uri, selectedUris)`, a Uri, a path string, or none. */
export async function showArchitecture(ctx: Ctx, ...args: unknown[]): Promise<string | undefined> {
  const inputs = inputsFromArgs(args);
  if (!inputs.length) {
    const picked = activeModelFile() ?? (await pickModel());
    if (!picked) return undefined; // the user dismissed the picker
    inputs.push(picked);
  }
  const { defaultTarget } = readConfig();
  const texts: string[] = [];
  for (const input of inputs) {
    ctx.output.log(`Show Architecture: ${input} (plan target ${defaultTarget})`);
    const text = await withCancellableProgress(`Detecting ${path.basename(input)}`, (signal) =>
      describeModel(input, defaultTarget, signal),
    );
    ctx.output.block(text);
    texts.push(text);
  }
  ctx.output.show();
  return texts.join('\n\n');
}

/** Local paths from the command arguments (explorer multi-selection wins over the clicked item). */
export function inputsFromArgs(args: unknown[]): string[] {
  const [first, second] = args;
  const selection = Array.isArray(second) && second.length ? second : first === undefined ? [] : [first];
  return selection.map(toLocalPath);
}

function toLocalPath(arg: unknown): string {
  if (typeof arg === 'string' && arg.length) return arg;
  if (arg instanceof vscode.Uri) {
    if (arg.scheme !== 'file') {
      throw new UsageError(`"${arg.toString()}" is not a local file; Show Architecture reads local models only`);
    }
    return arg.fsPath;
  }
  throw new UsageError('Show Architecture expects a folder, a config.json or a .gguf file');
}

function isModelFile(p: string): boolean {
  return path.basename(p) === 'config.json' || p.toLowerCase().endsWith('.gguf');
}

/** The file of the active editor tab, when it is a config.json or a .gguf. */
function activeModelFile(): string | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  const uri = input instanceof vscode.TabInputText || input instanceof vscode.TabInputCustom ? input.uri : undefined;
  return uri?.scheme === 'file' && isModelFile(uri.fsPath) ? uri.fsPath : undefined;
}

interface ModelPick extends vscode.QuickPickItem {
  input?: string;
}

/** Lists the workspace's models (HF folders by their config.json, GGUF files); or a dialog. */
async function pickModel(): Promise<string | undefined> {
  const files = await vscode.workspace.findFiles(CANDIDATE_GLOB, CANDIDATE_EXCLUDE, MAX_PICK_CANDIDATES);
  const items: ModelPick[] = files
    .filter((f) => f.scheme === 'file')
    .map((f) => {
      const gguf = f.fsPath.toLowerCase().endsWith('.gguf');
      const model = gguf ? f : vscode.Uri.joinPath(f, '..');
      return {
        label: vscode.workspace.asRelativePath(model),
        description: gguf ? 'GGUF file' : 'Hugging Face folder',
        input: model.fsPath,
      };
    })
    .sort((a, b) => a.label.localeCompare(b.label));
  const browse: ModelPick = { label: '$(folder-opened) Choose a folder or file...', alwaysShow: true };
  const picked = await vscode.window.showQuickPick<ModelPick>([...items, browse], {
    title: 'Show Architecture',
    placeHolder: items.length ? 'Pick a model (folder with config.json, or .gguf)' : 'No models found in the workspace',
    matchOnDescription: true,
  });
  if (!picked) return undefined;
  if (picked.input) return picked.input;
  const chosen = await vscode.window.showOpenDialog({
    title: 'Show Architecture: a model folder, config.json or .gguf file',
    canSelectFiles: true,
    canSelectFolders: true,
    canSelectMany: false,
  });
  return chosen?.[0] ? toLocalPath(chosen[0]) : undefined;
}

/** Runs `job` with a status-bar progress and an AbortSignal tied to VS Code's cancellation. */
async function withCancellableProgress<T>(title: string, job: (signal: AbortSignal) => Promise<T>): Promise<T> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title, cancellable: true }, (_p, token) => {
    const controller = new AbortController();
    const sub = token.onCancellationRequested(() => controller.abort(new CancelledError()));
    return job(controller.signal).finally(() => sub.dispose());
  });
}
