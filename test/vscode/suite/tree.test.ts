/**
 * The Pajamas view in the real VS Code: its three sections list the harness's fixture models (the
 * Hugging Face cache it builds, the models it copies into the workspace), an artifact folder that
 * appears on disk shows up through the file watchers, and listing 100 models takes under 1 s.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { PajamasTesting, TreeSnapshotNode } from '../../../src/extension/api';
import { defaultOutputFolder } from '../../../src/extension/config';
import { ggufArtifactFor, manifestWith } from '../../fixtures/manifest';
import { activated, copiedModel, reportFigure, waitFor, workspaceRoot, workspaceUri } from './helpers';

/** The budget for listing 100 models. */
const LISTING_BUDGET_MS = 1000;
const MANY = 100;

let testing: PajamasTesting;

const section = (tree: TreeSnapshotNode[], label: string) => {
  const s = tree.find((n) => n.label === label);
  assert.ok(s, `no "${label}" section in ${JSON.stringify(tree.map((n) => n.label))}`);
  return s;
};

describe('Pajamas view', () => {
  before(async () => {
    ({ testing } = await activated());
  });

  it('has the three sections; the Artifacts section lists the generated folders, or says what to do when empty', async () => {
    const tree = await testing.treeSnapshot();
    assert.deepEqual(
      tree.map((n) => [n.label, n.contextValue]),
      [
        ['Hugging Face cache', 'pajamas.section.hfCache'],
        ['Workspace models', 'pajamas.section.workspace'],
        ['Artifacts', 'pajamas.section.artifacts'],
      ],
    );
    const artifacts = section(tree, 'Artifacts').children;
    // The harness puts generated artifact folders in the workspace when ../shared is there.
    if (existsSync(workspaceUri('gqa-pajamas', false).fsPath)) {
      assert.ok(
        artifacts.some((n) => n.label === 'gqa-pajamas'),
        JSON.stringify(artifacts.map((n) => n.label)),
      );
      return;
    }
    assert.deepEqual(
      artifacts.map((n) => n.contextValue),
      ['pajamas.message'],
    );
    assert.match(artifacts[0]!.label, /Quantize a model/);
  });

  it('lists the workspace models and the Hugging Face cache', async function () {
    const hf = copiedModel(this, 'models/stories-hf');
    const tree = await testing.treeSnapshot();
    const workspace = section(tree, 'Workspace models').children;
    const byLabel = new Map(workspace.map((n) => [n.label, n]));
    assert.equal(byLabel.get('stories-hf')?.path, hf);
    assert.equal(byLabel.get('stories-hf')?.contextValue, 'pajamas.model.hf-folder');
    assert.match(byLabel.get('stories-hf')?.description ?? '', /^llama · /);
    assert.equal(byLabel.get('stories260K.gguf')?.contextValue, 'pajamas.model.gguf');
    assert.ok(!byLabel.has('tiny-llama'), 'a config.json without weights is not a model to quantize');
    const cache = section(tree, 'Hugging Face cache').children;
    const cached = cache.find((n) => n.label === 'pajamas/stories260K');
    assert.ok(cached, `the cache section lists ${JSON.stringify(cache.map((n) => n.label))}`);
    assert.equal(cached.contextValue, 'pajamas.hfModel.hf-folder');
    // The detected architecture (config.json's model_type), the revision and the size.
    assert.match(cached.description, /^llama · [0-9a-f]{7} · \d/);
    assert.match(cached.path ?? '', /models--pajamas--stories260K\/snapshots\/[0-9a-f]{40}$/);
    // Quantizing it never writes into the cache: the outputs go to the workspace, named after the repo.
    assert.equal(defaultOutputFolder(cached.path!), path.join(workspaceRoot(), 'stories260K-pajamas'));
  });

  it('shows an artifact folder that appears on disk, with its artifacts (file watchers)', async () => {
    const dir = path.join(workspaceRoot(), 'watched-artifacts');
    await mkdir(dir, { recursive: true });
    try {
      const bytes = Buffer.from('bytes of an artifact');
      await writeFile(path.join(dir, 'tiny-Q4_K_M-pajamas.gguf'), bytes);
      const artifact = ggufArtifactFor(path.join(dir, 'tiny-Q4_K_M-pajamas.gguf'), bytes);
      await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifestWith([artifact]), null, 2));
      const folder = await waitFor('the artifact folder in the view', async () =>
        section(await testing.treeSnapshot(), 'Artifacts').children.find((n) => n.path === dir),
      );
      assert.equal(folder.contextValue, 'pajamas.artifactFolder');
      assert.match(folder.description, /tiny · 1 artifact/);
      assert.deepEqual(
        folder.children.map((c) => [c.label, c.contextValue]),
        [['tiny-Q4_K_M-pajamas', 'pajamas.artifact.gguf']],
      );
      assert.match(folder.children[0]!.description, /^GGUF · Q4_K_M · pajamas · 20 B/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    await waitFor('the artifact folder to leave the view', async () =>
      section(await testing.treeSnapshot(), 'Artifacts').children.some((n) => n.path === dir) ? undefined : true,
    );
  });

  it(`lists ${MANY} models within ${LISTING_BUDGET_MS} ms`, async () => {
    const root = path.join(workspaceRoot(), 'many-models');
    try {
      for (let i = 0; i < MANY; i++) {
        const dir = path.join(root, `org-${i % 10}`, `model-${String(i).padStart(3, '0')}`);
        await mkdir(dir, { recursive: true });
        await writeFile(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'llama', num_hidden_layers: 2 }));
        await writeFile(path.join(dir, 'model.safetensors'), Buffer.alloc(64));
      }
      // Once to warm the worker (it may be starting), then the measured listing.
      await testing.refreshModels();
      const { listing, ms } = await testing.refreshModels();
      assert.ok(listing, 'the listing failed');
      const listed = listing.workspace.filter((m) => m.path.startsWith(root)).length;
      assert.equal(listed, MANY);
      reportFigure(
        'tree listing',
        `${listing.workspace.length} workspace models in ${ms.toFixed(0)} ms (worker scan ${listing.elapsedMs.toFixed(0)} ms)`,
      );
      assert.ok(ms < LISTING_BUDGET_MS, `listing took ${ms.toFixed(0)} ms`);
    } finally {
      await rm(root, { recursive: true, force: true });
      await testing.refreshModels();
    }
  });
});
