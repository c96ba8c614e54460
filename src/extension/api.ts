/**
 * What `activate()` returns (`vscode.extensions.getExtension(...).exports`). Other extensions get
 * the Pajamas view's section registry; tests get read access to internals, outside production.
 */
import type * as vscode from 'vscode';
import type { ModelListing } from '../protocol/models';
import type { QuantizeRequest } from '../core/pipeline/options';
import type { QuantizeResult, WorkerInfo } from '../protocol/worker';
import type { ChatController } from './chat/controller';
import type { ManifestEditorProbe } from './manifest-editor/editor';
import type { PlanRender } from './strategy/panel';
import type { TreeSection } from './tree/sections';

export interface PajamasApi {
  readonly apiVersion: 1;
  /** Adds a section to the Pajamas view. */
  registerModelsSection(section: TreeSection): vscode.Disposable;
  /** Present when the extension runs in development or test mode, never in production. */
  readonly testing?: PajamasTesting;
}

export interface PajamasTesting {
  /** The text written to the "Llama-Pajamas" output channel so far. */
  outputText(): string;
  /** Evaluating dist/extension.js plus the activate() call, in wall and CPU milliseconds. */
  activation: { wallMs: number; cpuMs: number };
  /** Lists the models again and returns the listing with the wall time it took. */
  refreshModels(): Promise<{ listing: ModelListing | null; ms: number }>;
  /** The Pajamas view's nodes as label/description/contextValue, section by section. */
  treeSnapshot(): Promise<TreeSnapshotNode[]>;
  workerInfo(): Promise<WorkerInfo>;
  workerPid(): number | undefined;
  lastPlanRender(): PlanRender | undefined;
  /** Ids of the jobs the host is following. */
  runningJobs(): string[];
  /** Starts a quantization job the way the Strategy view's Start does (notification included). */
  quantize(request: QuantizeRequest): { jobId: string; result: Promise<QuantizeResult> };
  /** Cancels a job the way the Cancel buttons do. */
  cancelJob(jobId: string): void;
  /** Resolves with the first progress step of a job. */
  firstProgress(jobId: string): Promise<string>;
  /** The manifest editor open on a manifest.json (absolute path), if one is. */
  manifestEditor(manifestPath: string): ManifestEditorProbe | undefined;
  /** The chat view's controller: its state, figures, and the actions its buttons take. */
  chat(): ChatController;
}

export interface TreeSnapshotNode {
  label: string;
  description: string;
  contextValue: string;
  path: string | null;
  children: TreeSnapshotNode[];
}
