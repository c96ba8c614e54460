// UI tests: drive the workbench like a person (command palette, quick pick, explorer context
// menu, notifications, output panel) and take screenshots into test-output/vscode/.
// Each step is one entry of STEPS; `Workbench` holds the ways of reaching VS Code's UI.
import path from 'node:path';
import { MANIFEST_STEPS } from './ui-manifest.mjs';

const COMMAND_TITLE = 'Pajamas: Show Architecture';
/** The explorer context menu shows the title without the category. */
const MENU_TITLE = 'Show Architecture';
const WAIT_MS = 30_000;
const READY_MS = 60_000;

/** Monaco renders spaces as no-break spaces. */
const normalize = (s) => s.replace(/\u00a0/g, ' ');

class Workbench {
  constructor(page, shotsDir, { workspace, log }) {
    this.page = page;
    this.shotsDir = shotsDir;
    /** The workspace folder's path, for steps that check what is in it. */
    this.workspace = workspace;
    this.log = log;
  }

  shot(name) {
    return this.page.screenshot({ path: path.join(this.shotsDir, `${name}.png`) });
  }

  explorerRow(name) {
    return this.page.locator(`.explorer-folders-view .monaco-list-row[aria-label="${name}"]`);
  }

  /** Runs a command from the palette (F1). */
  async runFromPalette(title) {
    const { page } = this;
    const input = page.locator('.quick-input-widget input');
    const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
    // Contributed commands appear once the extension host has scanned the extension, and the
    // palette lists the commands known when it opened: reopen it until the command is there.
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      await page.keyboard.press('Escape');
      await page.keyboard.press('F1');
      await input.waitFor({ state: 'visible', timeout: WAIT_MS });
      await input.fill(`>${title}`);
      if (
        await row.waitFor({ timeout: 2000 }).then(
          () => true,
          () => false,
        )
      )
        break;
      if (Date.now() > deadline) throw new Error(`"${title}" is not in the command palette`);
    }
    await row.click();
  }

  /** Right-clicks an explorer row; returns the context menu's `title` item once the menu takes clicks. */
  async contextMenuItem(name, title) {
    const { page } = this;
    await this.explorerRow(name).click({ button: 'right' });
    await page.locator('.context-view .action-item').first().waitFor({ timeout: WAIT_MS });
    // The menu ignores clicks during its fade-in (against the click that opened it).
    await page.waitForTimeout(400);
    return page.locator('.context-view .action-item', { hasText: title });
  }

  /** Opens a workspace file with Quick Open (Ctrl+P), the way a person who knows its path does. */
  async quickOpen(relativePath) {
    const { page } = this;
    await page.keyboard.press('Escape');
    await page.keyboard.press('Control+P');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible', timeout: WAIT_MS });
    await input.fill(relativePath);
    // Recently opened files rank first: pick the row whose folder is the one asked for.
    const folder = path.dirname(relativePath);
    const row = page
      .locator('.quick-input-list .monaco-list-row', { hasText: path.basename(relativePath) })
      .filter({ hasText: folder === '.' ? '' : folder })
      .first();
    await row.waitFor({ timeout: WAIT_MS });
    await row.click();
  }

  /** The webview frame (webviews are nested iframes) that shows `selector`, once one does. */
  async webviewFrame(selector, timeoutMs = WAIT_MS) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const f of this.page.frames()) {
        if (
          await f
            .locator(selector)
            .count()
            .catch(() => 0)
        )
          return f;
      }
      if (Date.now() > deadline) throw new Error(`no webview shows ${selector}`);
      await this.page.waitForTimeout(250);
    }
  }

  /** Closes the bottom panel when it is open (room for editors in screenshots). */
  async hidePanel() {
    const panel = this.page.locator('.part.panel');
    if (await panel.isVisible().catch(() => false)) {
      await this.page.keyboard.press('Control+J');
      await panel.waitFor({ state: 'hidden', timeout: WAIT_MS });
    }
  }

  panelAction(label) {
    return this.page.locator(`.panel a.action-label[aria-label="${label}"]:visible`).first();
  }

  /** Empties the visible output channel, so the next check sees only what comes after. */
  async clearOutput() {
    await this.panelAction('Clear Output').click({ timeout: WAIT_MS });
    await this.page.waitForFunction(() => !document.querySelector('.panel .output-view .view-lines')?.textContent?.trim(), null, {
      timeout: WAIT_MS,
    });
  }

  /** Waits until the visible output panel shows every string of `expected`. */
  async waitForOutput(expected) {
    const view = this.page.locator('.panel .output-view .view-lines .view-line');
    const deadline = Date.now() + WAIT_MS;
    let text = '';
    while (Date.now() < deadline) {
      text = normalize((await view.allTextContents().catch(() => [])).join('\n'));
      if (expected.every((e) => text.includes(e))) return;
      await this.page.waitForTimeout(250);
    }
    const missing = expected.filter((e) => !text.includes(e));
    throw new Error(`output panel lacks ${JSON.stringify(missing)}; shows: ${text.slice(-400)}`);
  }
}

const STEPS = [
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
  ...MANIFEST_STEPS,
];

/** Runs every step in one workbench window; returns {passed, failed}. */
export async function runUiTests(browser, url, { shotsDir, workspace, log }) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => log(`pageerror: ${e.message.slice(0, 200)}`));
  const wb = new Workbench(page, shotsDir, { workspace, log });
  const results = { passed: 0, failed: 0 };
  try {
    await page.goto(url);
    await page.locator('.monaco-workbench').waitFor({ timeout: READY_MS });
    await wb.explorerRow('tiny-llama').waitFor({ timeout: READY_MS });
    log('workbench ready (explorer shows the test workspace)');
  } catch (e) {
    log(`FAIL workbench did not come up: ${e.message.split('\n')[0]}`);
    await wb.shot('fail-workbench').catch(() => {});
    await context.close().catch(() => {});
    return { passed: 0, failed: STEPS.length };
  }
  for (const step of STEPS) {
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
