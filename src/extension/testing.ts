/** The test surface of the API (development and test modes only): see api.ts. */
import { QuantizeRequestType, WorkerInfoRequest } from '../protocol/worker';
import type { PajamasTesting, TreeSnapshotNode } from './api';
import type { ChatView } from './chat';
import type { Ctx } from './ctx';
import { openEditors } from './manifest-editor/editor';
import { lastPlanRender } from './strategy/panel';
import type { ModelsView } from './tree';
import type { PajamasNode } from './tree/nodes';

export function testingApi(ctx: Ctx, models: ModelsView, activation: PajamasTesting['activation'], chat: ChatView): PajamasTesting {
  const snapshot = async (node?: PajamasNode): Promise<TreeSnapshotNode[]> => {
    const children = await models.provider.getChildren(node);
    return Promise.all(
      children.map(async (c) => {
        const item = c.treeItem();
        const label = typeof item.label === 'string' ? item.label : (item.label?.label ?? '');
        return {
          label,
          description: typeof item.description === 'string' ? item.description : '',
          contextValue: item.contextValue ?? '',
          path: c.path ?? null,
          children: c.children ? await snapshot(c) : [],
        };
      }),
    );
  };
  return {
    outputText: () => ctx.output.text(),
    activation,
    refreshModels: async () => {
      const started = performance.now();
      await models.index.refresh();
      const state = models.index.current;
      return { listing: state.kind === 'loaded' ? state.listing : null, ms: performance.now() - started };
    },
    treeSnapshot: () => snapshot(),
    workerInfo: () => ctx.worker.request(WorkerInfoRequest, {}, 'worker info'),
    workerPid: () => ctx.worker.pid,
    lastPlanRender,
    runningJobs: () => ctx.jobs.jobs().map((j) => j.jobId),
    quantize: (request) =>
      ctx.jobs.start({
        kind: 'quantize',
        title: `Quantizing ${request.model}`,
        send: (jobId) => ctx.worker.request(QuantizeRequestType, { jobId, request }, 'quantizing'),
      }),
    cancelJob: (jobId) => ctx.jobs.cancel(jobId),
    firstProgress: (jobId) =>
      new Promise((resolve) => {
        const sub = ctx.jobs.onDidChange((e) => {
          if (e.jobId !== jobId || !e.progress) return;
          sub.dispose();
          resolve(e.progress.step);
        });
      }),
    manifestEditor: (manifestPath) => openEditors.get(manifestPath),
    chat: () => chat.controller,
  };
}
