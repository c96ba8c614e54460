/**
 * "Pajamas: Show Architecture" inside a real VS Code: the command runs on a model folder, a
 * config.json and (when ../shared is present) the shared tiny models, and the "Llama-Pajamas"
 * output channel shows the detection result and the plan summary.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { PLAN_TARGETS } from '../../../src/core/plan/types';
import type { PajamasApi } from '../../../src/extension/api';

const EXTENSION_ID = 'llama-pajamas.llama-pajamas';
const COMMAND = 'pajamas.showArchitecture';

interface Manifest {
  contributes: {
    commands: { command: string; title: string; category?: string }[];
    configuration: { properties: Record<string, { enum?: string[]; default?: unknown }> };
  };
}

let api: PajamasApi;
let extension: vscode.Extension<PajamasApi>;

/** The output channel text written by one call of `fn`. */
async function outputOf(fn: () => Thenable<unknown>): Promise<string> {
  const testing = api.testing;
  assert.ok(testing, 'the extension exposes no testing API (is it running in production mode?)');
  const before = testing.outputText().length;
  await fn();
  return testing.outputText().slice(before).replace(/^\n/, '');
}

function workspaceModel(relative: string): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'no workspace folder: open a copy of test/vscode/workspace (test/vscode/run.mjs does)');
  const uri = vscode.Uri.joinPath(folder.uri, relative);
  assert.ok(existsSync(uri.fsPath), `${uri.fsPath} is missing: open a copy of test/vscode/workspace`);
  return uri;
}

/** A model under ../shared, or skips (fails under PAJAMAS_REQUIRE_SHARED=1) when absent. */
function sharedModel(ctx: Mocha.Context, relative: string): string {
  const root = process.env.PAJAMAS_SHARED_DIR ?? path.resolve(extension.extensionPath, '..', 'shared');
  const p = path.join(root, relative);
  if (existsSync(p)) return p;
  const message = `needs ../shared/${relative}, which is not present`;
  if (process.env.PAJAMAS_REQUIRE_SHARED === '1') assert.fail(`${message}; PAJAMAS_REQUIRE_SHARED=1 makes this a failure`);
  ctx.skip();
  return p;
}

function assertDetectLines(text: string, expected: Record<string, string>): void {
  for (const [field, value] of Object.entries(expected)) {
    const line = text.split('\n').find((l) => l.trim().startsWith(`${field}:`));
    assert.ok(line, `no "${field}:" line in the output channel:\n${text}`);
    assert.ok(line.includes(value), `expected "${field}: ${value}...", got "${line.trim()}"`);
  }
}

/** The plan summary names its target and the resulting bits per weight. */
function assertPlanSummary(text: string): void {
  assert.match(text, /Q4_K_M/, `no plan summary for Q4_K_M in the output channel:\n${text}`);
  assert.match(text, /bpw|bits per weight/i, `the plan summary gives no bits per weight:\n${text}`);
}

describe('Show Architecture', () => {
  before(async () => {
    const ext = vscode.extensions.getExtension<PajamasApi>(EXTENSION_ID);
    assert.ok(ext, `extension ${EXTENSION_ID} is not loaded`);
    extension = ext;
    api = await ext.activate();
  });

  it('registers every command the manifest contributes, each with the Pajamas category', async () => {
    const manifest = extension.packageJSON as Manifest;
    const registered = new Set(await vscode.commands.getCommands(true));
    const contributed = manifest.contributes.commands;
    assert.ok(contributed.some((c) => c.command === COMMAND));
    for (const c of contributed) {
      assert.ok(registered.has(c.command), `${c.command} is contributed but not registered`);
      assert.equal(c.category, 'Pajamas', `${c.command} has no "Pajamas" category`);
    }
  });

  it('shows the detect result and plan summary of a model folder', async () => {
    const text = await outputOf(() => vscode.commands.executeCommand(COMMAND, workspaceModel('tiny-llama')));
    assertDetectLines(text, { Type: 'llama', Attention: 'gqa', 'GQA Ratio': '4:1', Layers: '4', Context: '2048' });
    assertPlanSummary(text);
    assert.doesNotMatch(text, /ERROR/);
  });

  it('accepts a config.json (explorer context menu on the file)', async () => {
    const config = workspaceModel('tiny-llama/config.json');
    // The explorer passes the clicked item and the selection.
    const text = await outputOf(() => vscode.commands.executeCommand(COMMAND, config, [config]));
    assertDetectLines(text, { Attention: 'gqa', 'GQA Ratio': '4:1 (8 query, 2 KV)' });
  });

  it('shows the shared pajama-tiny-gqa model', async function () {
    const model = sharedModel(this, 'models/pajama-tiny-gqa');
    const text = await outputOf(() => vscode.commands.executeCommand(COMMAND, vscode.Uri.file(model)));
    assertDetectLines(text, { Type: 'llama', Attention: 'gqa', 'GQA Ratio': '4:1', Layers: '6' });
    assertPlanSummary(text);
  });

  it('shows a .gguf file from its metadata', async function () {
    const gguf = sharedModel(this, 'models/stories260K-gguf/stories260K.gguf');
    const text = await outputOf(() => vscode.commands.executeCommand(COMMAND, vscode.Uri.file(gguf)));
    assertDetectLines(text, { Type: 'llama', Attention: 'gqa', 'GQA Ratio': '2:1', Layers: '5' });
  });

  it('plans for the target of the pajamas.defaultTarget setting', async () => {
    const setting = (extension.packageJSON as Manifest).contributes.configuration.properties['pajamas.defaultTarget'];
    assert.deepEqual(setting?.enum, [...PLAN_TARGETS], 'the setting offers other targets than the planner');
    const config = vscode.workspace.getConfiguration('pajamas');
    await config.update('defaultTarget', 'Q6_K', vscode.ConfigurationTarget.Global);
    try {
      const text = await outputOf(() => vscode.commands.executeCommand(COMMAND, workspaceModel('tiny-llama').fsPath));
      const [logLine, ...result] = text.split('\n');
      assert.match(logLine ?? '', /plan target Q6_K/);
      assert.match(result.join('\n'), /Q6_K/, `the plan summary is not for Q6_K:\n${text}`);
    } finally {
      await config.update('defaultTarget', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  it('reports a folder that is not a model in the log instead of failing the command', async () => {
    const notAModel = workspaceModel('not-a-model');
    const text = await outputOf(() => vscode.commands.executeCommand(COMMAND, notAModel));
    assert.match(text, /ERROR Show Architecture: \[\w[\w-]*\] /, `no error line in the output channel:\n${text}`);
    assert.ok(text.includes(notAModel.fsPath), `the error does not name the folder:\n${text}`);
  });
});
