/** The Pajamas view (activity bar): registers the tree, its built-in sections and its index. */
import * as vscode from 'vscode';
import type { Ctx } from '../ctx';
import { ModelIndex } from './model-index';
import { ModelsTreeProvider } from './provider';
import { builtInSections } from './sections';

export const MODELS_VIEW_ID = 'pajamas.models';

export interface ModelsView {
  index: ModelIndex;
  provider: ModelsTreeProvider;
  view: vscode.TreeView<unknown>;
}

export function registerModelsView(ctx: Ctx): ModelsView & vscode.Disposable {
  const index = new ModelIndex(ctx);
  const provider = new ModelsTreeProvider();
  const sections = builtInSections(index).map((s) => provider.registerSection(s));
  const view = vscode.window.createTreeView(MODELS_VIEW_ID, { treeDataProvider: provider, showCollapseAll: true });
  const onIndex = index.onDidChange(() => provider.refresh());
  return {
    index,
    provider,
    view,
    dispose: () => vscode.Disposable.from(view, onIndex, ...sections, provider, index).dispose(),
  };
}
