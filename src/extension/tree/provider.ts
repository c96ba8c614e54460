/**
 * The Pajamas view's data provider: an ordered list of pluggable sections (see ./sections.ts), each
 * a node tree of its own. `registerSection` is how another feature adds one.
 */
import * as vscode from 'vscode';
import type { PajamasNode } from './nodes';
import type { TreeSection } from './sections';

export class ModelsTreeProvider implements vscode.TreeDataProvider<PajamasNode>, vscode.Disposable {
  private readonly sections: TreeSection[] = [];
  private readonly changed = new vscode.EventEmitter<PajamasNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  registerSection(section: TreeSection): vscode.Disposable {
    if (this.sections.some((s) => s.id === section.id)) throw new Error(`a section "${section.id}" is already registered`);
    this.sections.push(section);
    this.sections.sort((a, b) => a.order - b.order);
    this.refresh();
    return new vscode.Disposable(() => {
      const i = this.sections.indexOf(section);
      if (i >= 0) this.sections.splice(i, 1);
      this.refresh();
    });
  }

  refresh(): void {
    this.changed.fire(undefined);
  }

  getTreeItem(node: PajamasNode): vscode.TreeItem {
    return node.treeItem();
  }

  async getChildren(node?: PajamasNode): Promise<PajamasNode[]> {
    if (!node) return this.sections.map((s) => s.node());
    return (await node.children?.()) ?? [];
  }

  dispose(): void {
    this.changed.dispose();
  }
}
