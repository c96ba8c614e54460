/**
 * The Pajamas view's three built-in sections, each a view of the one model listing: the Hugging
 * Face cache, the workspace's models, and the artifact folders. An empty section says what to do.
 */
import os from 'node:os';
import path from 'node:path';
import type { ModelListing } from '../../protocol/models';
import type { IndexState, ModelIndex } from './model-index';
import { ArtifactFolderNode, HfModelNode, MessageNode, type PajamasNode, SectionNode, WorkspaceModelNode } from './nodes';

export interface TreeSection {
  /** Used in ids and in the section's contextValue (pajamas.section.<id>). */
  readonly id: string;
  /** Sections are shown by ascending order; the built-in ones use 10, 20, 30. */
  readonly order: number;
  node(): PajamasNode;
}

function fromListing(index: ModelIndex, pick: (listing: ModelListing) => PajamasNode[]): () => Promise<PajamasNode[]> {
  return async () => {
    const state: IndexState = await index.ensure();
    if (state.kind === 'failed')
      return [new MessageNode(`Could not list models: ${state.message}`, 'error', { command: 'pajamas.showLog', title: 'Show Log' })];
    if (state.kind === 'idle') return [new MessageNode('Listing models…', 'loading~spin')];
    return pick(state.listing);
  };
}

/** `/home/me/.cache/...` as `~/.cache/...`: the cache root is a description, read at a glance. */
function tildify(p: string | undefined): string | undefined {
  const home = os.homedir();
  return p && (p === home || p.startsWith(home + path.sep)) ? `~${p.slice(home.length)}` : p;
}

export function builtInSections(index: ModelIndex): TreeSection[] {
  const quantizeCommand = { command: 'pajamas.quantize', title: 'Quantize with Pajamas' };
  const hf = new SectionNode(
    'hfCache',
    'Hugging Face cache',
    'cloud',
    fromListing(index, (l) => {
      const cache = l.hfCache;
      if (!cache) return [];
      if (cache.error) return [new MessageNode(cache.error, 'warning')];
      if (!cache.models.length)
        return [new MessageNode(`No models in ${cache.root}. Models downloaded with Hugging Face tools appear here.`)];
      return cache.models.map((m) => new HfModelNode(m));
    }),
    () => (index.current.kind === 'loaded' ? tildify(index.current.listing.hfCache?.root) : undefined),
  );
  const workspace = new SectionNode(
    'workspace',
    'Workspace models',
    'folder-library',
    fromListing(index, (l) => {
      if (!l.workspace.length)
        return [new MessageNode('No models here. Open a folder that holds config.json with *.safetensors, or a .gguf file.', 'info')];
      const nodes: PajamasNode[] = l.workspace.map((m) => new WorkspaceModelNode(m));
      if (l.truncated)
        nodes.push(new MessageNode('The search stopped at its depth or size limit; some folders were not searched.', 'warning'));
      return nodes;
    }),
  );
  const artifacts = new SectionNode(
    'artifacts',
    'Artifacts',
    'package',
    fromListing(index, (l) => {
      if (!l.artifacts.length) return [new MessageNode('No artifacts yet. Quantize a model to make some.', 'info', quantizeCommand)];
      return l.artifacts.map((f) => new ArtifactFolderNode(f));
    }),
  );
  return [
    { id: 'hfCache', order: 10, node: () => hf },
    { id: 'workspace', order: 20, node: () => workspace },
    { id: 'artifacts', order: 30, node: () => artifacts },
  ];
}
