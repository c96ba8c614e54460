/**
 * The worker as a language server inside VS Code: hover on a model's config.json, diagnostics on
 * a Llama-Pajamas manifest.json (missing artifact on open; a hash mismatch after Verify Artifacts).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as vscode from 'vscode';
import { ggufArtifactFor, manifestWith } from '../../fixtures/manifest';
import { activated, waitFor, workspaceUri } from './helpers';

const hoverText = (h: vscode.Hover) => h.contents.map((c) => (typeof c === 'string' ? c : 'value' in c ? c.value : '')).join('\n');

describe('Language features', () => {
  let dir: string;

  before(async () => {
    await activated();
    dir = await mkdtemp(path.join(os.tmpdir(), 'pajamas-language-'));
  });

  after(() => rm(dir, { recursive: true, force: true }));

  it('hovering a property of a model config.json shows the architecture and the recommended target', async () => {
    const uri = workspaceUri('tiny-llama/config.json');
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc);
    const line = doc
      .getText()
      .split('\n')
      .findIndex((l) => l.includes('"num_key_value_heads"'));
    const position = new vscode.Position(line, 4);
    const text = await waitFor('a Llama-Pajamas hover', async () => {
      const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', uri, position);
      return hovers.map(hoverText).find((t) => t.includes('Llama-Pajamas'));
    });
    assert.match(text, /GQA Ratio: 4:1 \(8 query, 2 KV\)/);
    assert.match(text, /Recommended GGUF target: \*\*Q\d_?\w*\*\*/);
  });

  it('a manifest.json gets a diagnostic on a missing artifact, and on a wrong hash after Verify Artifacts', async () => {
    const bytes = Buffer.from('the bytes of a small artifact file');
    await writeFile(path.join(dir, 'kept.gguf'), bytes);
    const kept = ggufArtifactFor(path.join(dir, 'kept.gguf'), bytes, { sha256: '0'.repeat(64) });
    const gone = ggufArtifactFor(path.join(dir, 'gone.gguf'), bytes, { id: 'gone' });
    const file = path.join(dir, 'manifest.json');
    await writeFile(file, JSON.stringify(manifestWith([kept, gone]), null, 2));
    const uri = vscode.Uri.file(file);
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
    // Only ours: VS Code's JSON support adds its own (it cannot download the manifest's $schema URL offline).
    const ours = () => vscode.languages.getDiagnostics(uri).filter((d) => d.source === 'Llama-Pajamas');
    const messages = () => ours().map((d) => d.message);
    await waitFor('the missing-artifact diagnostic', () =>
      messages().includes('gone.gguf is missing (artifact gone)') ? true : undefined,
    );
    assert.equal(messages().length, 1, 'sizes match and hashes are not checked on open');
    const report = await vscode.commands.executeCommand<{ problems: unknown[] }>('pajamas.verifyArtifacts', vscode.Uri.file(dir));
    assert.equal(report?.problems.length, 2);
    await waitFor('the hash diagnostic', () =>
      messages().some((m) => /^kept\.gguf: sha256 is [0-9a-f]{64}, the manifest says 0{64}/.test(m)) ? true : undefined,
    );
    assert.ok(ours().every((d) => d.severity === vscode.DiagnosticSeverity.Error));
  });
});
