/**
 * The one context object every feature receives: the extension context, the output channel, the
 * worker and its jobs, and the stored state. Features get what they need from here instead of from
 * module globals.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { affectsWorker, readConfig } from './config';
import { PajamasOutput } from './output';
import { PajamasState } from './state';
import { WorkerClient } from './worker/client';
import { JobRunner } from './worker/jobs';

export interface Ctx {
  readonly extension: vscode.ExtensionContext;
  readonly output: PajamasOutput;
  readonly state: PajamasState;
  readonly worker: WorkerClient;
  readonly jobs: JobRunner;
}

export function createCtx(extension: vscode.ExtensionContext): Ctx {
  const output = new PajamasOutput();
  const state = new PajamasState(extension);
  const worker = new WorkerClient({
    serverModule: extension.asAbsolutePath(path.join('dist', 'server.js')),
    output,
    environment: () => workerEnvironment(extension, state),
  });
  const jobs = new JobRunner(worker, output);
  extension.subscriptions.push(output, worker, jobs, restartOnChange(worker, jobs, state, output));
  return { extension, output, state, worker, jobs };
}

/** The llama.cpp tools shipped in a platform VSIX for this machine, if any. */
export function shippedToolsDir(extension: vscode.ExtensionContext): string | null {
  const dir = extension.asAbsolutePath(path.join('tools', `${process.platform}-${process.arch}`));
  return existsSync(path.join(dir, process.platform === 'win32' ? 'llama-quantize.exe' : 'llama-quantize')) ? dir : null;
}

/** What the worker reads from its environment: tools folder, threads, Python for MLX, the token. */
async function workerEnvironment(extension: vscode.ExtensionContext, state: PajamasState): Promise<Record<string, string>> {
  const config = readConfig();
  const env: Record<string, string> = {};
  const tools = config.llamaCppToolsPath || shippedToolsDir(extension);
  if (tools) env.PAJAMAS_LLAMA_BIN_DIR = tools;
  if (config.threads) env.PAJAMAS_THREADS = String(config.threads);
  if (config.pythonPath) env.PAJAMAS_MLX_PYTHON = config.pythonPath;
  const token = await state.huggingFaceToken();
  if (token) env.HF_TOKEN = token;
  return env;
}

/** Restarts the worker when one of its settings or the token changes, once no job is running. */
function restartOnChange(worker: WorkerClient, jobs: JobRunner, state: PajamasState, output: PajamasOutput): vscode.Disposable {
  let pending = false;
  const restartWhenIdle = () => {
    if (jobs.busy) {
      pending = true;
      return;
    }
    pending = false;
    if (worker.pid === undefined) return; // not started yet: it reads the new values when it starts
    output.log('settings changed: restarting the worker');
    void worker.restart().catch((e: unknown) => output.error(`worker restart failed: ${String(e)}`));
  };
  return vscode.Disposable.from(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (affectsWorker(e)) restartWhenIdle();
    }),
    state.onDidChangeSecrets(restartWhenIdle),
    jobs.onDidChange((e) => {
      if (e.finished && pending) restartWhenIdle();
    }),
  );
}
