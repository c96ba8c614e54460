// UI tests: drive the workbench like a person (command palette, quick pick, explorer context
// menu, notifications, output panel, the Pajamas view and its webviews) and take screenshots into
// test-output/vscode/. Each step is one entry of a STEPS list; `Workbench` holds the ways of
// reaching VS Code's UI.
import { ARCHITECTURE_STEPS } from './ui-steps-architecture.mjs';
import { CHAT_STEPS } from './ui-steps-chat.mjs';
import { MANIFEST_STEPS } from './ui-steps-manifest.mjs';
import { STRATEGY_STEPS } from './ui-steps-strategy.mjs';
import { READY_MS, Workbench } from './ui-workbench.mjs';

/** The steps run on the development extension (test/vscode/run.mjs's phase b). */
export const DEV_STEPS = [...ARCHITECTURE_STEPS, ...STRATEGY_STEPS, ...MANIFEST_STEPS, ...CHAT_STEPS];

/** Runs every step in one workbench window; returns {passed, failed}. */
export async function runUiTests(browser, url, { shotsDir, log, workspace, steps = DEV_STEPS, readyRow = 'tiny-llama' }) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => log(`pageerror: ${e.message.slice(0, 200)}`));
  const wb = new Workbench(page, shotsDir, { workspace, log });
  // PAJAMAS_VSCODE_STEPS=<text>: only the steps whose name contains it (case-insensitive), to rerun a few.
  const only = process.env.PAJAMAS_VSCODE_STEPS?.toLowerCase();
  if (only) steps = steps.filter((s) => s.name.toLowerCase().includes(only));
  const results = { passed: 0, failed: 0 };
  try {
    await page.goto(url, { timeout: READY_MS, waitUntil: 'domcontentloaded' });
    await page.locator('.monaco-workbench').waitFor({ timeout: READY_MS });
    await wb.explorerRow(readyRow).waitFor({ timeout: READY_MS });
    log('workbench ready (explorer shows the test workspace)');
  } catch (e) {
    log(`FAIL workbench did not come up: ${e.message.split('\n')[0]}`);
    await wb.shot('fail-workbench').catch(() => {});
    await context.close().catch(() => {});
    return { passed: 0, failed: steps.length };
  }
  for (const step of steps) {
    const t0 = Date.now();
    try {
      await step.run(wb);
      results.passed++;
      log(`PASS ${step.name} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
    } catch (e) {
      results.failed++;
      log(`FAIL ${step.name}: ${String(e.message).split('\n')[0]}`);
      await wb.shot(`fail-${step.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 50)}`).catch(() => {});
      await page.keyboard.press('Escape').catch(() => {});
    }
  }
  await context.close().catch(() => {});
  return results;
}
