// UI steps for the Pajamas view and "Quantize with Pajamas": the view's three sections, the
// explorer's context menu opening the Strategy view, a live re-plan, Start with progress and
// results, the new artifacts in the view, and a broken model's error in the Strategy view.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { GENERATED } from './artifact-fixtures.mjs';
import { WAIT_MS } from './ui-workbench.mjs';

/** Quantizing and evaluating the tiny model: two GGUFs, the F16 baseline and two KLD passes (slow on a busy machine). */
const JOB_MS = 20 * 60_000;

export const STRATEGY_STEPS = [
  {
    name: 'the Pajamas view lists the Hugging Face cache, the workspace models and the artifacts',
    async run(wb) {
      await wb.closePanel();
      await wb.openPajamasView();
      // The artifact fixtures (artifact-fixtures.mjs) are there unless ../shared is absent.
      const artifacts = existsSync(path.join(wb.workspace, GENERATED)) ? GENERATED : 'No artifacts yet';
      for (const text of ['Hugging Face cache', 'Workspace models', 'stories-hf', 'stories260K.gguf', 'Artifacts', artifacts]) {
        await wb.treeRow(text).waitFor({ timeout: WAIT_MS });
      }
      await wb.shot('pajamas-view');
    },
  },
  {
    name: 'right-click a model folder, Quantize with Pajamas: the Strategy view shows the architecture and the plan',
    async run(wb) {
      await wb.openStrategyFromExplorer('models', 'stories-hf');
      const frame = await wb.webviewFrame('section.arch .facts');
      const arch = await frame.locator('section.arch').innerText();
      for (const fact of ['Attention', 'Layers', 'Parameters', 'Recommended'])
        if (!arch.includes(fact)) throw new Error(`the architecture card lacks ${fact}: ${arch}`);
      await frame.locator('details.layer').first().waitFor({ timeout: WAIT_MS });
      const totals = await frame.locator('.totals').innerText();
      if (!/Predicted GGUF/.test(totals) || !/Stock Q4_K_M/.test(totals)) throw new Error(`the plan totals are incomplete: ${totals}`);
      await frame.locator('details.layer[data-key="layer-0"] > summary').click();
      await frame.locator('details.layer[data-key="layer-0"] table.tensors tr').nth(3).waitFor({ timeout: WAIT_MS });
      await wb.shot('strategy-plan');
    },
  },
  {
    name: 'choosing another target re-plans live',
    async run(wb) {
      const frame = await wb.webviewFrame('section.arch .facts');
      await wb.setCheckbox(frame, 'Q8_0', true);
      await wb.setCheckbox(frame, 'Q4_K_M', false);
      await frame.locator('.plan-status', { hasText: 'Q8_0' }).waitFor({ timeout: WAIT_MS });
      // The status line changes before the totals are drawn: wait for the totals themselves.
      const q8 = frame.locator('.totals', { hasText: 'Stock Q8_0' });
      if (
        !(await q8.waitFor({ timeout: WAIT_MS }).then(
          () => true,
          () => false,
        ))
      )
        throw new Error(`the totals are not for Q8_0 after the change: ${await frame.locator('.totals').innerText()}`);
      await wb.setCheckbox(frame, 'Q4_K_M', true);
      await wb.setCheckbox(frame, 'Q8_0', false);
      await frame.locator('.plan-status', { hasText: 'Q4_K_M' }).waitFor({ timeout: WAIT_MS });
    },
  },
  {
    name: 'Start: progress in the view and a notification, then results with the chart, and the artifacts in the Pajamas view',
    async run(wb) {
      const frame = await wb.webviewFrame('section.arch .facts');
      await wb.setCheckbox(frame, 'mlx', false);
      await frame.locator('vscode-radio[value="both"]').click();
      // No importance matrix: the calibration pass is the slowest step on a busy machine.
      await frame.locator('vscode-radio[value="off"]').click();
      await frame.locator('#start').click();
      await frame.locator('.job[data-state="running"] .progress-step').waitFor({ timeout: WAIT_MS });
      await wb.page
        .locator('.notifications-toasts .notification-toast', { hasText: 'Quantizing stories-hf' })
        .waitFor({ timeout: WAIT_MS });
      await frame
        .locator('.job[data-state="running"] .progress-message')
        .waitFor({ timeout: WAIT_MS })
        .catch(() => undefined);
      await wb.shot('strategy-progress');
      const done = frame.locator('.job[data-state="done"], .job[data-state="failed"]');
      await done.waitFor({ timeout: JOB_MS });
      if ((await done.getAttribute('data-state')) !== 'done') throw new Error(`the job failed: ${await done.innerText()}`);
      const rows = await frame.locator('table.artifacts tbody tr').count();
      if (rows !== 2) throw new Error(`expected 2 artifacts (pajamas and stock), the results list ${rows}`);
      await frame.locator('img.chart').waitFor({ timeout: WAIT_MS });
      await frame.locator('.job').scrollIntoViewIfNeeded();
      await wb.shot('strategy-results');
      await wb.openPajamasView();
      await wb.treeRow('stories-hf-pajamas').waitFor({ timeout: WAIT_MS });
      await wb.treeRow('stories-hf-Q4_K_M-pajamas').waitFor({ timeout: WAIT_MS });
      await wb.shot('pajamas-view-artifacts');
    },
  },
  {
    name: 'a model the worker cannot read shows its error in the Strategy view',
    async run(wb) {
      await wb.openStrategyFromExplorer(null, 'broken-model');
      const frame = await wb.webviewFrame('section.arch .error');
      const text = await frame.locator('section.arch').innerText();
      if (!/config\.json/.test(text) || !/truncated|invalid JSON/.test(text))
        throw new Error(`the error does not say what and where: ${text}`);
      const startDisabled = await frame.locator('#start').evaluate((b) => b.disabled);
      if (!startDisabled) throw new Error('Start is enabled for a model that cannot be read');
      await wb.shot('strategy-broken-model');
    },
  },
];
