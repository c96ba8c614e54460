// UI steps for the Hugging Face Hub against the test Hub (hub-fixture.ts; run.mjs sets HF_ENDPOINT):
// "Add Model from the Hub..." searching as you type, the download, the model in the Pajamas view,
// its Strategy view, Delete from Cache with its confirmation, and a private repo's 401 offering
// "Set Hugging Face Token", after which the same download succeeds (the token reached the worker).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { normalize, WAIT_MS } from './ui-workbench.mjs';

const PUBLIC_REPO = 'pajamas-test/stories260K';
const PRIVATE_REPO = 'pajamas-test/private-llama';
const TEST_HUB_TOKEN = 'hf_PajamasVscodeTestToken42';
/** A download of a few MB from loopback, on a busy machine. */
const DOWNLOAD_MS = 120_000;

const toast = (wb, text) => wb.page.locator('.notifications-toasts .notification-toast', { hasText: text }).first();

/** The inline button of the view's Hugging Face cache section (shown on hover). */
async function fromSectionButton(wb) {
  const section = wb.treeRow('Hugging Face cache');
  await section.hover();
  await section.locator('a.action-label[aria-label^="Add Model from the Hub"]').click({ timeout: WAIT_MS });
}

/** Opens the picker (the palette, or `open`) and types `query`; returns the picker's row showing `repo`. */
async function searchHub(wb, query, repo, open = () => wb.runFromPalette('Add Model from the Hub')) {
  await open();
  const input = wb.page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: WAIT_MS });
  await input.fill(query);
  const row = wb.page.locator('.quick-input-list .monaco-list-row', { hasText: repo }).first();
  await row.waitFor({ timeout: WAIT_MS });
  return row;
}

/** Right-clicks a row of the Pajamas view and clicks `title` in its context menu. */
async function treeMenu(wb, row, title) {
  await wb.treeRow(row).click({ button: 'right' });
  await wb.page.locator('.context-view .action-item').first().waitFor({ timeout: WAIT_MS });
  await wb.page.waitForTimeout(400); // the menu ignores clicks while it fades in
  const item = wb.page.locator('.context-view .action-item', { hasText: title }).first();
  if (!(await item.count())) throw new Error(`the context menu of ${row} lacks ${title}`);
  await item.click();
}

/** Delete from Cache, confirmed in the modal; waits until the view and the disk no longer have it. */
async function deleteFromCache(wb, repo, shot) {
  await treeMenu(wb, repo, 'Delete from Cache');
  const dialog = wb.page.locator('.monaco-dialog-box');
  await dialog.waitFor({ timeout: WAIT_MS });
  const text = normalize(await dialog.innerText());
  if (!text.includes(`Delete ${repo} from the Hugging Face cache?`)) throw new Error(`the confirmation does not name the repo: ${text}`);
  if (shot) await wb.shot(shot);
  await dialog.locator('.monaco-button', { hasText: 'Delete' }).click();
  await wb.treeRow(repo).waitFor({ state: 'detached', timeout: WAIT_MS });
  const folder = path.join(process.env.HF_HUB_CACHE, `models--${repo.replace('/', '--')}`);
  if (existsSync(folder)) throw new Error(`${folder} is still on disk after Delete`);
}

export const HUB_STEPS = [
  {
    name: 'Hub: Add Model from the Hub searches as you type (downloads, size, fit), downloads, and the model is in the Pajamas view',
    async run(wb) {
      await wb.openPajamasView();
      const row = await searchHub(wb, 'stories260', PUBLIC_REPO);
      // The highlighted repo's size and fit arrive after the search.
      await wb.page
        .locator('.quick-input-list .monaco-list-row', { hasText: 'fits this machine for quantizing' })
        .first()
        .waitFor({ timeout: WAIT_MS });
      const text = normalize(await row.innerText());
      if (!/100/.test(text) || !/to download/.test(text) || !/memory/.test(text))
        throw new Error(`the row lacks downloads, size or fit: ${text}`);
      await wb.shot('hub-picker');
      await wb.page.keyboard.press('Enter');
      await toast(wb, `${PUBLIC_REPO} is in the Hugging Face cache`).waitFor({ timeout: DOWNLOAD_MS });
      await wb.treeRow(PUBLIC_REPO).waitFor({ timeout: WAIT_MS });
      await wb.shot('hub-added');
    },
  },
  {
    name: 'Hub: Quantize with Pajamas on the downloaded model opens its Strategy view with the plan',
    async run(wb) {
      await wb.runFromPalette('View: Close All Editors');
      await treeMenu(wb, PUBLIC_REPO, 'Quantize with Pajamas');
      await wb.page.locator('.tabs-container .tab.active', { hasText: 'Quantize stories260K' }).waitFor({ timeout: WAIT_MS });
      const frame = await wb.webviewFrame('section.arch .facts');
      const arch = await frame.locator('section.arch').innerText();
      if (!arch.includes('Parameters')) throw new Error(`the architecture card lacks Parameters: ${arch}`);
      await frame.locator('details.layer').first().waitFor({ timeout: WAIT_MS });
      await wb.shot('hub-strategy');
      await wb.runFromPalette('View: Close All Editors');
    },
  },
  {
    name: 'Hub: Delete from Cache asks first, then the model leaves the view and the disk',
    async run(wb) {
      await deleteFromCache(wb, PUBLIC_REPO, 'hub-delete-confirm');
    },
  },
  {
    name: 'Hub: a private repo (401) offers Set Hugging Face Token; once it is set the download succeeds',
    async run(wb) {
      await searchHub(wb, PRIVATE_REPO, PRIVATE_REPO, () => fromSectionButton(wb));
      await wb.page.keyboard.press('Enter');
      const refused = toast(wb, PRIVATE_REPO);
      await refused.waitFor({ timeout: WAIT_MS });
      const setToken = refused.locator('.monaco-button', { hasText: 'Set Hugging Face Token' });
      await setToken.waitFor({ timeout: WAIT_MS });
      await wb.shot('hub-401');
      await setToken.click();
      const secret = wb.page.locator('.quick-input-widget input[type="password"]');
      await secret.waitFor({ state: 'visible', timeout: WAIT_MS });
      await secret.fill(TEST_HUB_TOKEN);
      await wb.page.keyboard.press('Enter');
      await toast(wb, 'Hugging Face token saved').waitFor({ timeout: WAIT_MS });
      // The worker restarts with the token in its environment; the same download now passes.
      await searchHub(wb, PRIVATE_REPO, PRIVATE_REPO);
      await wb.page.keyboard.press('Enter');
      await toast(wb, `${PRIVATE_REPO} is in the Hugging Face cache`).waitFor({ timeout: DOWNLOAD_MS });
      await wb.treeRow(PRIVATE_REPO).waitFor({ timeout: WAIT_MS });
      await deleteFromCache(wb, PRIVATE_REPO);
      await wb.runFromPalette('Clear Hugging Face Token');
    },
  },
];
