/**
 * The Pajamas view's nodes. A node knows its own tree item and children, so a section added later
 * (the Hub's downloads, say) brings its nodes without touching the provider. Nodes that stand for
 * a file or folder carry its `path`; commands run from a node's menu receive the node and use it.
 * `contextValue`s are what package.json's menus match.
 */
import path from 'node:path';
import * as vscode from 'vscode';
import { formatBytes } from '../../core/units';
import type { ArtifactFolder, ArtifactItem, HfCacheModel, WorkspaceModel } from '../../protocol/models';

export interface PajamasNode {
  treeItem(): vscode.TreeItem;
  children?(): PajamasNode[] | Promise<PajamasNode[]>;
  /** The file or folder the node stands for, when it stands for one. */
  readonly path?: string;
}

export const CONTEXT = {
  section: (id: string) => `pajamas.section.${id}`,
  workspaceModel: (kind: WorkspaceModel['kind']) => `pajamas.model.${kind}`,
  hfModel: (kind: HfCacheModel['kind']) => `pajamas.hfModel.${kind}`,
  artifactFolder: 'pajamas.artifactFolder',
  artifact: (format: ArtifactItem['format']) => `pajamas.artifact.${format}`,
  message: 'pajamas.message',
} as const;

/** The command a click on a model runs: its Strategy view. */
const QUANTIZE = 'pajamas.quantize';

export class SectionNode implements PajamasNode {
  constructor(
    readonly id: string,
    private readonly label: string,
    private readonly icon: string,
    private readonly list: () => PajamasNode[] | Promise<PajamasNode[]>,
    private readonly description?: () => string | undefined,
  ) {}

  treeItem(): vscode.TreeItem {
    const item = new vscode.TreeItem(this.label, vscode.TreeItemCollapsibleState.Expanded);
    item.id = `section:${this.id}`;
    item.iconPath = new vscode.ThemeIcon(this.icon);
    item.contextValue = CONTEXT.section(this.id);
    item.description = this.description?.();
    return item;
  }

  children(): PajamasNode[] | Promise<PajamasNode[]> {
    return this.list();
  }
}

/** A line of text in place of an empty or failed list: says what to do. */
export class MessageNode implements PajamasNode {
  constructor(
    private readonly text: string,
    private readonly icon = 'info',
    private readonly command?: vscode.Command,
  ) {}

  treeItem(): vscode.TreeItem {
    const item = new vscode.TreeItem(this.text, vscode.TreeItemCollapsibleState.None);
    item.iconPath = new vscode.ThemeIcon(this.icon);
    item.contextValue = CONTEXT.message;
    item.tooltip = this.text;
    if (this.command) item.command = this.command;
    return item;
  }
}

export class WorkspaceModelNode implements PajamasNode {
  readonly path: string;

  constructor(readonly model: WorkspaceModel) {
    this.path = model.path;
  }

  treeItem(): vscode.TreeItem {
    const m = this.model;
    const item = new vscode.TreeItem(m.name, vscode.TreeItemCollapsibleState.None);
    item.id = `model:${m.path}`;
    item.resourceUri = vscode.Uri.file(m.path);
    item.iconPath = new vscode.ThemeIcon(m.kind === 'gguf' ? 'file-binary' : 'folder-library');
    item.description = [m.kind === 'gguf' ? 'GGUF' : (m.modelType ?? 'safetensors'), formatBytes(m.sizeBytes)].join(' · ');
    item.tooltip = new vscode.MarkdownString(
      `**${m.name}**\n\n${m.path}\n\n${m.kind === 'gguf' ? 'GGUF file' : 'Hugging Face folder'}, ${formatBytes(m.sizeBytes)}`,
    );
    item.contextValue = CONTEXT.workspaceModel(m.kind);
    item.command = { command: QUANTIZE, title: 'Quantize with Pajamas', arguments: [this] };
    return item;
  }
}

export class HfModelNode implements PajamasNode {
  readonly path: string;

  constructor(readonly model: HfCacheModel) {
    this.path = model.path;
  }

  treeItem(): vscode.TreeItem {
    const m = this.model;
    const item = new vscode.TreeItem(m.repoId, vscode.TreeItemCollapsibleState.None);
    item.id = `hf:${m.path}`;
    item.iconPath = new vscode.ThemeIcon('cloud');
    const type = m.kind === 'gguf' ? 'GGUF' : m.modelType;
    item.description = [type, m.revision?.slice(0, 7), m.sizeBytes === null ? null : formatBytes(m.sizeBytes)].filter(Boolean).join(' · ');
    item.tooltip = new vscode.MarkdownString(`**${m.repoId}**\n\n${m.path}`);
    item.contextValue = CONTEXT.hfModel(m.kind);
    item.command = { command: QUANTIZE, title: 'Quantize with Pajamas', arguments: [this] };
    return item;
  }
}

export class ArtifactFolderNode implements PajamasNode {
  readonly path: string;

  constructor(readonly folder: ArtifactFolder) {
    this.path = folder.folder;
  }

  treeItem(): vscode.TreeItem {
    const f = this.folder;
    const state = f.artifacts.length ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None;
    const item = new vscode.TreeItem(path.basename(f.folder), state);
    item.id = `artifacts:${f.folder}`;
    item.resourceUri = vscode.Uri.file(f.folder);
    item.iconPath = new vscode.ThemeIcon(f.problem ? 'warning' : 'package');
    item.description = f.problem
      ? 'manifest.json cannot be read'
      : `${f.model} · ${f.artifacts.length} artifact${f.artifacts.length === 1 ? '' : 's'}`;
    item.tooltip = new vscode.MarkdownString(`**${f.folder}**\n\n${f.problem ?? `manifest of ${f.model}`}`);
    item.contextValue = CONTEXT.artifactFolder;
    return item;
  }

  children(): PajamasNode[] {
    return this.folder.artifacts.map((a) => new ArtifactNode(a, this.folder.manifestPath));
  }
}

export class ArtifactNode implements PajamasNode {
  readonly path: string;

  constructor(
    readonly artifact: ArtifactItem,
    readonly manifestPath: string,
  ) {
    this.path = artifact.path;
  }

  treeItem(): vscode.TreeItem {
    const a = this.artifact;
    const item = new vscode.TreeItem(a.id, vscode.TreeItemCollapsibleState.None);
    item.id = `artifact:${a.path}`;
    item.resourceUri = vscode.Uri.file(a.path);
    item.iconPath = new vscode.ThemeIcon(!a.present ? 'warning' : a.format === 'gguf' ? 'file-binary' : 'file-submodule');
    item.description = artifactDescription(a);
    item.tooltip = new vscode.MarkdownString(artifactTooltip(a));
    item.contextValue = CONTEXT.artifact(a.format);
    return item;
  }
}

export function artifactDescription(a: ArtifactItem): string {
  const parts = [a.format.toUpperCase(), a.target, `${a.strategy}${a.imatrix ? '+imatrix' : ''}`, formatBytes(a.sizeBytes)];
  if (a.quality?.kldMean !== null && a.quality?.kldMean !== undefined) parts.push(`KLD ${a.quality.kldMean.toPrecision(3)}`);
  else if (a.quality) parts.push(`PPL ${a.quality.ppl.toPrecision(4)}`);
  if (a.quality?.gatePassed === false) parts.push('gate failed');
  if (!a.present) parts.push('missing');
  return parts.join(' · ');
}

function artifactTooltip(a: ArtifactItem): string {
  const q = a.quality;
  const lines = [`**${a.id}**`, '', `${a.format.toUpperCase()} ${a.target}, ${a.strategy}${a.imatrix ? ' with importance matrix' : ''}`];
  lines.push(`${formatBytes(a.sizeBytes)}, ${a.bpw.toFixed(2)} bits per weight`);
  if (q) {
    lines.push(`perplexity ${q.ppl.toPrecision(5)}`);
    if (q.kldMean !== null) lines.push(`mean KL divergence ${q.kldMean.toPrecision(3)}`);
    if (q.top1 !== null) lines.push(`top-1 agreement ${(q.top1 * 100).toFixed(1)}%`);
    if (q.gatePassed !== null) lines.push(`quality gate ${q.gatePassed ? 'passed' : 'failed'}`);
  } else lines.push('not evaluated');
  if (!a.present) lines.push('', '**The file is missing.**');
  return lines.join('  \n');
}
