/**
 * The manifest editor in a real VS Code: a Llama-Pajamas manifest.json opens in it (the generated
 * artifacts of the shared model: table, size-vs-KLD chart, bits per layer), a web app's
 * manifest.json stays in the text editor, a broken manifest shows its error with the line, Verify
 * reports the truncated artifact, edits show up live, the editor never writes the file, and
 * "Open as JSON" / "Open in Manifest Editor" switch between the two.
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import * as vscode from 'vscode';
import type { PajamasTesting } from '../../../src/extension/api';
import type { ManifestEditorProbe } from '../../../src/extension/manifest-editor/editor';
import { MANIFEST_EDITOR_VIEW_TYPE } from '../../../src/protocol/manifest-editor';
import { activated, copiedModel, waitFor, workspaceUri } from './helpers';

let testing: PajamasTesting;

const customTab = (uri: vscode.Uri) =>
  vscode.window.tabGroups.all
    .flatMap((g) => g.tabs)
    .find(
      (t) =>
        t.input instanceof vscode.TabInputCustom && t.input.viewType === MANIFEST_EDITOR_VIEW_TYPE && t.input.uri.fsPath === uri.fsPath,
    );
const textTab = (uri: vscode.Uri) =>
  vscode.window.tabGroups.all
    .flatMap((g) => g.tabs)
    .find((t) => t.input instanceof vscode.TabInputText && t.input.uri.fsPath === uri.fsPath);

/** Opens the file the way a click in the explorer does; resolves with its manifest editor once the worker's reading is shown. */
async function openInEditor(uri: vscode.Uri): Promise<ManifestEditorProbe> {
  await vscode.commands.executeCommand('vscode.open', uri);
  await waitFor('the manifest editor to replace the text editor', () => (customTab(uri) && !textTab(uri) ? true : undefined));
  return waitFor('the manifest editor to show the manifest', () => {
    const editor = testing.manifestEditor(uri.fsPath);
    return editor?.state.doc.inspection ? editor : undefined;
  });
}

describe('Manifest editor', function () {
  this.timeout(90_000);

  before(async () => {
    ({ testing } = await activated());
  });

  afterEach(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('opens a generated manifest: every artifact, the size-vs-KLD chart and the bits per layer', async function () {
    const uri = vscode.Uri.file(copiedModel(this, 'gqa-pajamas/manifest.json'));
    const editor = await openInEditor(uri);
    const i = editor.state.doc.inspection;
    assert.ok(i?.valid, `not shown as valid: ${JSON.stringify(i)}`);
    assert.deepEqual(
      i.manifest.artifacts.map((a) => a.target),
      ['Q4_K_M', 'Q8_0'],
    );
    assert.deepEqual(i.problems, []);
    assert.ok(i.chartSvg?.startsWith('<svg'), 'no size-vs-KLD chart');
    for (const bits of i.layerBits) {
      assert.equal(bits.error, null);
      assert.equal(bits.layers.length, 6, `${bits.artifactId}: pajama-tiny-gqa has 6 layers`);
    }
    const q4 = i.layerBits.find((b) => b.artifactId.includes('Q4_K_M'))!.layers;
    const q8 = i.layerBits.find((b) => b.artifactId.includes('Q8_0'))!.layers;
    q4.forEach((b, layer) => assert.ok(b! < q8[layer]!, `layer ${layer}: Q4_K_M ${b} bpw is not below Q8_0 ${q8[layer]}`));
  });

  it("leaves a web app's manifest.json in the text editor", async () => {
    const uri = workspaceUri('web-app/manifest.json');
    await vscode.commands.executeCommand('vscode.open', uri);
    await waitFor('the text editor', () => textTab(uri));
    // The take-over, were it to happen, follows the tab's opening within a few hundred ms.
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(textTab(uri), 'the text editor went away');
    assert.equal(customTab(uri), undefined, 'the manifest editor took over a web app manifest');
  });

  it('shows a broken manifest as its error with the line, not a blank page', async () => {
    const uri = workspaceUri('broken-manifest/manifest.json');
    const editor = await openInEditor(uri);
    const i = editor.state.doc.inspection!;
    assert.equal(i.valid, false);
    assert.equal(i.problems[0]?.kind, 'json');
    assert.equal(i.problems[0]?.line, 5, `expected the error on line 5 (after the missing comma): ${JSON.stringify(i.problems)}`);
  });

  it('Verify all reports the truncated artifact and passes the intact one', async function () {
    const uri = vscode.Uri.file(copiedModel(this, 'truncated-pajamas/manifest.json'));
    const editor = await openInEditor(uri);
    const i = editor.state.doc.inspection;
    assert.ok(i?.valid);
    const cut = i.manifest.artifacts.find((a) => a.target === 'Q8_0')!.id;
    const intact = i.manifest.artifacts.find((a) => a.target === 'Q4_K_M')!.id;
    assert.ok(
      i.problems.some((p) => p.subject === cut),
      'the size check on opening already flags the cut artifact',
    );
    await editor.receive({ type: 'verify', artifactId: null });
    const outcomes = await waitFor('the verification', () =>
      editor.state.verify.running.length ? undefined : editor.state.verify.outcomes,
    );
    assert.equal(outcomes[intact]?.state, 'ok');
    const bad = outcomes[cut];
    assert.equal(bad?.state, 'problem');
    assert.match(bad.state === 'problem' ? bad.messages.join('\n') : '', /size is \d+ bytes, the manifest says \d+/);
  });

  it('follows unsaved edits live and never writes the file', async function () {
    const uri = vscode.Uri.file(copiedModel(this, 'gqa-pajamas/manifest.json'));
    const before = statSync(uri.fsPath).mtimeMs;
    const editor = await openInEditor(uri);
    const doc = await vscode.workspace.openTextDocument(uri);
    const at = doc.getText().indexOf('"model": "pajama-tiny-gqa"');
    assert.ok(at > 0);
    const edit = new vscode.WorkspaceEdit();
    const range = new vscode.Range(doc.positionAt(at), doc.positionAt(at + '"model": "pajama-tiny-gqa"'.length));
    edit.replace(uri, range, '"model": "renamed-live"');
    let shown = editor.nextShown();
    assert.ok(await vscode.workspace.applyEdit(edit));
    await shown;
    const i = editor.state.doc.inspection;
    assert.ok(i?.valid && i.manifest.model === 'renamed-live', 'the edit did not show');
    assert.equal(editor.state.doc.dirty, true);
    shown = editor.nextShown();
    await vscode.commands.executeCommand('workbench.action.files.revert');
    await shown;
    assert.equal(statSync(uri.fsPath).mtimeMs, before, 'the file was written');
  });

  it('Open as JSON shows the text at the line; Open in Manifest Editor comes back', async function () {
    const uri = vscode.Uri.file(copiedModel(this, 'gqa-pajamas/manifest.json'));
    const editor = await openInEditor(uri);
    await editor.receive({ type: 'openAsJson', line: 3 });
    await waitFor('the text editor', () => (textTab(uri) && !customTab(uri) ? true : undefined));
    assert.equal(vscode.window.activeTextEditor?.selection.active.line, 2);
    // Chosen as JSON: opening it again keeps the text editor.
    await vscode.commands.executeCommand('vscode.open', uri);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(customTab(uri), undefined);
    await vscode.commands.executeCommand('pajamas.openManifestEditor', uri);
    await waitFor('the manifest editor', () => (customTab(uri) && !textTab(uri) ? true : undefined));
  });
});
