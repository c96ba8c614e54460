/**
 * The Strategy view in the real VS Code (the webview renders in the harness's browser): the plan of
 * a 64-layer mixture of experts renders within 500 ms, measured by the page itself, and a page
 * rebuilt after being hidden renders again from the host's state.
 */
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { PajamasTesting } from '../../../src/extension/api';
import { activated, reportFigure, waitFor, workspaceUri } from './helpers';

/** The budget for rendering the plan of a 64-layer MoE. */
const RENDER_BUDGET_MS = 500;

let testing: PajamasTesting;

describe('Strategy view', () => {
  before(async () => {
    ({ testing } = await activated());
  });

  it(`renders the plan of a 64-layer mixture of experts within ${RENDER_BUDGET_MS} ms`, async () => {
    const model = workspaceUri('moe-64');
    await vscode.commands.executeCommand('pajamas.quantize', model);
    const render = await waitFor(
      'the plan render',
      () => {
        const r = testing.lastPlanRender();
        return r?.model === model.fsPath ? r : undefined;
      },
      60_000,
    );
    reportFigure('plan render', `${render.tensors} tensors of a 64-layer MoE in ${render.ms.toFixed(0)} ms`);
    assert.ok(render.tensors > 64 * 9, `only ${render.tensors} tensors were planned`);
    assert.ok(render.ms < RENDER_BUDGET_MS, `the plan took ${render.ms.toFixed(0)} ms to render`);
  });

  it('a page rebuilt after being hidden gets its state back and renders again', async () => {
    const model = workspaceUri('moe-64');
    const first = testing.lastPlanRender();
    // Another editor in the same group hides the panel (its page is discarded: no retained context).
    await vscode.window.showTextDocument(workspaceUri('tiny-llama/config.json'), { viewColumn: vscode.ViewColumn.Active });
    await vscode.commands.executeCommand('pajamas.quantize', model);
    await waitFor('a second render', () => {
      const r = testing.lastPlanRender();
      return r && r !== first && r.model === model.fsPath ? r : undefined;
    });
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });
});
