// The ways the UI tests reach VS Code's UI: the command palette, explorer rows and their context
// menus, the panel, notifications, the Pajamas view, and webview frames.
import path from 'node:path';

export const WAIT_MS = 30_000;
export const READY_MS = 60_000;
/** Wide enough for the Pajamas view's descriptions (sizes, quality) in screenshots. */
const SIDEBAR_WIDTH = 460;

/** Monaco renders spaces as no-break spaces. */
export const normalize = (s) => s.replace(/\u00a0/g, ' ');

export class Workbench {
  constructor(page, shotsDir, { workspace, log } = {}) {
    this.page = page;
    this.shotsDir = shotsDir;
    /** The workspace folder's path, for steps that check what is in it. */
    this.workspace = workspace;
    this.log = log ?? (() => {});
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

  /** Hides the bottom panel, if shown (it toggles with Ctrl+J). */
  async closePanel() {
    if (
      await this.page
        .locator('.part.panel')
        .isVisible()
        .catch(() => false)
    )
      await this.page.keyboard.press('Control+J');
    await this.page.locator('.part.panel').waitFor({ state: 'hidden', timeout: WAIT_MS });
  }

  /** Opens the Pajamas view from its activity-bar icon and waits for its sections. */
  async openPajamasView() {
    const icon = this.page.locator('.activitybar .action-item a[aria-label^="Llama-Pajamas"]');
    await icon.waitFor({ timeout: READY_MS });
    const view = this.page.locator('.pane-header[aria-label^="Models"]');
    // Clicking the icon of the container already shown hides the side bar; after a window reload the
    // workbench may still be restoring it, so click only while it is not the active container.
    const active = this.page.locator('.activitybar .action-item.checked a[aria-label^="Llama-Pajamas"]');
    for (let attempt = 0; attempt < 3 && !(await view.isVisible().catch(() => false)); attempt++) {
      if (!(await active.count())) await icon.click();
      await view.waitFor({ timeout: 5_000 }).catch(() => undefined);
    }
    await this.treeRow('Workspace models').waitFor({ timeout: WAIT_MS });
    await this.widenSideBar(SIDEBAR_WIDTH);
  }

  /** Drags the side bar's edge until it is `width` pixels wide (descriptions are cut at the default 300). */
  async widenSideBar(width) {
    const box = await this.page.locator('.part.sidebar').boundingBox();
    if (!box || box.width >= width - 5) return;
    const y = box.y + box.height / 2;
    await this.page.mouse.move(box.x + box.width - 1, y);
    await this.page.mouse.down();
    await this.page.mouse.move(box.x + width, y, { steps: 5 });
    await this.page.mouse.up();
  }

  /** A row of the Pajamas view whose text contains `text`. */
  treeRow(text) {
    return this.page.locator('.sidebar .monaco-list-row', { hasText: text }).first();
  }

  /** The frame of the webview whose page shows `selector` (webviews are nested iframes). */
  async webviewFrame(selector, timeoutMs = WAIT_MS) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      for (const frame of this.page.frames()) {
        if (
          await frame
            .locator(selector)
            .count()
            .catch(() => 0)
        )
          return frame;
      }
      await this.page.waitForTimeout(250);
    }
    throw new Error(`no webview shows ${selector}`);
  }

  /** Explorer: (expands `folder`,) right-clicks `row`, chooses "Quantize with Pajamas". */
  async openStrategyFromExplorer(folder, row) {
    await this.page.keyboard.press('Control+Shift+E');
    if (folder && !(await this.explorerRow(row).count())) await this.explorerRow(folder).click();
    await this.explorerRow(row).waitFor({ timeout: WAIT_MS });
    const item = await this.contextMenuItem(row, 'Quantize with Pajamas');
    if (!(await item.count())) throw new Error(`the context menu of ${row} lacks Quantize with Pajamas`);
    await this.shot(`explorer-menu-${row}`);
    await item.click();
  }

  /** Sets a vscode-checkbox of a webview to `checked`. */
  async setCheckbox(frame, value, checked) {
    const box = frame.locator(`vscode-checkbox[data-value="${value}"]`);
    if ((await box.evaluate((b) => b.checked)) !== checked) await box.click();
  }
}
