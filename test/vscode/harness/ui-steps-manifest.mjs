// UI steps of the manifest editor (ui-workbench.mjs has the ways of reaching the UI they use): our manifest
// opens in it with its table and charts, a web app's manifest.json stays text, a broken manifest
// shows its error with the line, and Verify all reports the truncated artifact. Screenshots go to
// test-output/vscode/. The generated folders come from artifact-fixtures.mjs; without them those steps fail
// only under PAJAMAS_REQUIRE_SHARED=1 (otherwise they say they were skipped and pass).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { GENERATED, TRUNCATED, TRUNCATED_ARTIFACT } from './artifact-fixtures.mjs';
import { WAIT_MS } from './ui-workbench.mjs';

/** False (and a log line) when the generated fixtures are absent and that is allowed. */
function haveFixtures(wb, folder) {
  if (existsSync(path.join(wb.workspace, folder, 'manifest.json'))) return true;
  if (process.env.PAJAMAS_REQUIRE_SHARED === '1')
    throw new Error(`${folder}/ is missing from the workspace (artifact-fixtures.mjs did not make it)`);
  wb.log(`skipped: ${folder}/ is missing (no ../shared)`);
  return false;
}

export const MANIFEST_STEPS = [
  {
    name: 'a generated manifest opens in the manifest editor with its table and both charts',
    async run(wb) {
      if (!haveFixtures(wb, GENERATED)) return;
      await wb.quickOpen(`${GENERATED}/manifest.json`);
      const frame = await wb.webviewFrame('table.artifacts');
      await frame.locator('#kld-chart').waitFor({ timeout: WAIT_MS });
      await frame.locator('svg.layer-bits polyline').first().waitFor({ timeout: WAIT_MS });
      const rows = await frame.locator('table.artifacts tbody tr').count();
      if (rows !== 2) throw new Error(`the artifacts table has ${rows} rows, expected 2`);
      const lines = await frame.locator('svg.layer-bits polyline').count();
      if (lines !== 2) throw new Error(`the bits-per-layer chart has ${lines} lines, expected 2`);
      await wb.closePanel();
      await wb.page.waitForTimeout(500); // the chart image decodes
      await wb.shot('manifest-editor');
      await frame.locator('.charts').scrollIntoViewIfNeeded();
      await wb.shot('manifest-editor-charts');
      // "Open as JSON" is in the editor's title bar.
      const asJson = wb.page.locator('.editor-actions a.action-label[aria-label^="Open as JSON"]');
      if (!(await asJson.count())) throw new Error('no "Open as JSON" in the editor title bar');
    },
  },
  {
    name: "a web app's manifest.json opens in the text editor",
    async run(wb) {
      await wb.quickOpen('web-app/manifest.json');
      const editor = wb.page.locator('.editor-instance .monaco-editor .view-lines', { hasText: 'Pajama Party Planner' });
      await editor.waitFor({ timeout: WAIT_MS });
      await wb.page.waitForTimeout(1500); // a take-over would have happened by now
      if (!(await editor.count())) throw new Error('the text editor went away');
      const tab = wb.page.locator('.tabs-container .tab.active');
      if ((await tab.getAttribute('aria-label'))?.includes('Llama-Pajamas')) throw new Error('the manifest editor took it over');
      await wb.shot('manifest-web-app-as-text');
    },
  },
  {
    name: 'a broken manifest shows its error with the line',
    async run(wb) {
      await wb.quickOpen('broken-manifest/manifest.json');
      const frame = await wb.webviewFrame('.problems .line-link');
      const text = await frame.locator('.problems').innerText();
      if (!/line 5, column 3: JSON: /.test(text)) throw new Error(`the error card says: ${text}`);
      await wb.shot('manifest-broken');
    },
  },
  {
    name: 'Verify all reports the truncated artifact',
    async run(wb) {
      if (!haveFixtures(wb, TRUNCATED)) return;
      await wb.quickOpen(`${TRUNCATED}/manifest.json`);
      const frame = await wb.webviewFrame('#verify-all');
      await frame.locator('#verify-all').click();
      const intact = frame.locator('tr:not([data-artifact="' + TRUNCATED_ARTIFACT + '"]) .verify.ok', { hasText: 'SHA-256 verified' });
      await intact.waitFor({ timeout: WAIT_MS * 2 });
      const cut = frame.locator(`tr[data-artifact="${TRUNCATED_ARTIFACT}"] .verify.problem`);
      const text = await cut.innerText();
      if (!/size is \d+ bytes, the manifest says \d+/.test(text)) throw new Error(`the truncated row says: ${text}`);
      await wb.shot('manifest-verify');
    },
  },
];
