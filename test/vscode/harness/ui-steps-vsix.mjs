// UI steps on the extension installed from its VSIX (test/vscode/run.mjs's phase c): the view
// appears, a model quantizes with the tools that ship in the VSIX (no build, no cmake on PATH),
// and "Verify Artifacts" accepts the manifest.
import { WAIT_MS } from './ui-workbench.mjs';

/**
 * Quantizing the tiny model to one GGUF without evaluation, but with the check against stock (two
 * llama-perplexity passes and the F16 baseline in an empty cache): over 10 minutes at load 20 on 2 cores.
 */
const JOB_MS = 25 * 60_000;

export const VSIX_STEPS = [
  {
    name: 'the installed extension shows the Pajamas view with the workspace model',
    async run(wb) {
      await wb.openPajamasView();
      await wb.treeRow('stories-hf').waitFor({ timeout: WAIT_MS });
      await wb.shot('vsix-view');
    },
  },
  {
    name: 'the installed extension quantizes a model with the tools it ships',
    async run(wb) {
      await wb.openStrategyFromExplorer('models', 'stories-hf');
      const frame = await wb.webviewFrame('section.arch .facts');
      await wb.setCheckbox(frame, 'mlx', false);
      await frame.locator('vscode-radio[value="off"]').click();
      await wb.setCheckbox(frame, 'Q4_K_M', true);
      const evaluate = frame.locator('#opt-evaluate');
      if (await evaluate.evaluate((b) => b.checked)) await evaluate.click();
      await frame.locator('#start').click();
      const done = frame.locator('.job[data-state="done"], .job[data-state="failed"]');
      await done.waitFor({ timeout: JOB_MS });
      if ((await done.getAttribute('data-state')) !== 'done') throw new Error(`the job failed: ${await done.innerText()}`);
      await frame.locator('table.artifacts tbody tr').first().waitFor({ timeout: WAIT_MS });
      await wb.shot('vsix-results');
    },
  },
  {
    name: 'Verify Artifacts accepts the manifest the installed extension wrote',
    async run(wb) {
      await wb.runFromPalette('Pajamas: Verify Artifacts');
      const pick = wb.page.locator('.quick-input-list .monaco-list-row', { hasText: 'stories-hf-pajamas/manifest.json' });
      await pick.waitFor({ timeout: WAIT_MS });
      await pick.click();
      const toast = wb.page.locator('.notifications-toasts .notification-toast', { hasText: 'match the manifest' });
      await toast.waitFor({ timeout: JOB_MS });
      const text = await toast.innerText();
      if (!/all \d+ files match the manifest/.test(text)) throw new Error(`verification did not pass: ${text}`);
      await wb.shot('vsix-verified');
    },
  },
];
