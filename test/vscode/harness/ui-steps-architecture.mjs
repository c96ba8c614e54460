// UI steps for "Show Architecture": the palette with its model picker, the explorer context menu
// (offered on model folders, not on other files), and the error notification's "Show Log".
import { WAIT_MS } from './ui-workbench.mjs';

const COMMAND_TITLE = 'Pajamas: Show Architecture';
/** The explorer context menu shows the title without the category. */
const MENU_TITLE = 'Show Architecture';

export const ARCHITECTURE_STEPS = [
  {
    name: 'command palette runs Show Architecture on a picked model',
    async run(wb) {
      await wb.runFromPalette(COMMAND_TITLE);
      const pick = wb.page.locator('.quick-input-list .monaco-list-row', { hasText: 'tiny-llama' });
      await pick.waitFor({ timeout: WAIT_MS });
      await wb.shot('palette-model-pick');
      await pick.click();
      await wb.page.locator('.panel .output-view').waitFor({ timeout: WAIT_MS });
      // Room for the whole detection block and the plan summary (the view follows the end).
      await wb.panelAction('Maximize Panel Size').click({ timeout: WAIT_MS });
      await wb.waitForOutput([
        'ArchitectureInfo(',
        'Attention: gqa',
        'GQA Ratio: 4:1 (8 query, 2 KV)',
        'Layers: 4',
        'Plan (pajamas, Q4_K_M)',
      ]);
      await wb.shot('palette-show-architecture');
    },
  },
  {
    name: 'explorer context menu offers Show Architecture on a model folder and runs it',
    async run(wb) {
      await wb.clearOutput();
      await wb.page.keyboard.press('Control+Shift+E');
      const item = await wb.contextMenuItem('tiny-llama', MENU_TITLE);
      if (!(await item.count())) throw new Error('the context menu of a model folder lacks Show Architecture');
      await wb.shot('explorer-context-menu');
      await item.click();
      await wb.waitForOutput(['GQA Ratio: 4:1']);
    },
  },
  {
    name: 'explorer context menu hides Show Architecture on other files',
    async run(wb) {
      await wb.explorerRow('not-a-model').click();
      await wb.explorerRow('notes.txt').waitFor({ timeout: WAIT_MS });
      const offered = await (await wb.contextMenuItem('notes.txt', MENU_TITLE)).count();
      await wb.page.keyboard.press('Escape');
      if (offered) throw new Error('the context menu of notes.txt offers Show Architecture');
    },
  },
  {
    name: 'a folder without a model gives an error notification whose Show Log reveals the log',
    async run(wb) {
      const { page } = wb;
      await wb.clearOutput();
      await page.keyboard.press('Control+J'); // hide the panel, so "Show Log" has to reveal it
      await page.locator('.panel .output-view').waitFor({ state: 'hidden', timeout: WAIT_MS });
      await (await wb.contextMenuItem('not-a-model', MENU_TITLE)).click();
      const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'Show Architecture' }).last();
      await toast.waitFor({ timeout: WAIT_MS });
      await page.waitForTimeout(500); // the toast's fade-in
      await wb.shot('error-notification');
      await toast.getByRole('button', { name: 'Show Log' }).click();
      await wb.waitForOutput(['ERROR Show Architecture']);
    },
  },
];
