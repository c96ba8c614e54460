/**
 * "Pajamas: Show Architecture" inside a real VS Code: the command runs on a model folder, a
 * config.json and (when ../shared is present) the shared tiny models, and the "Llama-Pajamas"
 * output channel shows the detection result and the plan summary.
 */
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { PLAN_TARGETS } from '../../../src/core/plan/types';
import type { PajamasApi } from '../../../src/extension/api';
import { activated, packageJson, sharedPath, workspaceUri } from './helpers';

const COMMAND = 'pajamas.showArchitecture';

let api: PajamasApi;
let extension: vscode.Extension<PajamasApi>;

/** The output channel text written by one call of `fn`. */
async function outputOf(fn: () => Thenable<unknown>): Promise<string> {
  const testing = api.testing!;
  const before = testing.outputText().length;
  await fn();
  return testing.outputText().slice(before).replace(/^\n/, '');
}

const workspaceModel = (relative: string) => workspaceUri(relative);
const sharedModel = (ctx: Mocha.Context, relative: string) => sharedPath(ctx, extension, relative);

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
    ({ extension, api } = await activated());
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

  it('plans for the first target of the pajamas.defaultTargets setting', async () => {
    const setting = packageJson(extension).contributes.configuration.properties['pajamas.defaultTargets'];
    assert.deepEqual(setting?.items?.enum, [...PLAN_TARGETS], 'the setting offers other targets than the planner');
    const config = vscode.workspace.getConfiguration('pajamas');
    await config.update('defaultTargets', ['Q6_K', 'Q8_0'], vscode.ConfigurationTarget.Global);
    try {
      const text = await outputOf(() => vscode.commands.executeCommand(COMMAND, workspaceModel('tiny-llama').fsPath));
      const [logLine, ...result] = text.split('\n');
      assert.match(logLine ?? '', /plan target Q6_K/);
      assert.match(result.join('\n'), /Q6_K/, `the plan summary is not for Q6_K:\n${text}`);
    } finally {
      await config.update('defaultTargets', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  it('reports a folder that is not a model in the log instead of failing the command', async () => {
    const notAModel = workspaceModel('not-a-model');
    const text = await outputOf(() => vscode.commands.executeCommand(COMMAND, notAModel));
    assert.match(text, /ERROR Show Architecture: \[\w[\w-]*\] /, `no error line in the output channel:\n${text}`);
    assert.ok(text.includes(notAModel.fsPath), `the error does not name the folder:\n${text}`);
  });
});
