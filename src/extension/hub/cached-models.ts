/**
 * The Pajamas view's actions on a model of the Hugging Face cache that live in the Hub's area:
 * Delete (the repo's whole cache folder, after a modal confirmation; refused by the worker while a
 * download of it runs). Quantize is the common "Quantize with Pajamas" on the node.
 */
import * as vscode from 'vscode';
import { UsageError } from '../../core/errors';
import { formatBytes } from '../../core/units';
import { HubDeleteRequest } from '../../protocol/hub';
import type { Ctx } from '../ctx';
import type { ModelsView } from '../tree';

/** What the command accepts: a cached-model node of the view (tree/nodes.ts HfModelNode), or a repo id. */
function repoOf(arg: unknown): { repoId: string; sizeBytes: number | null } {
  if (typeof arg === 'string') return { repoId: arg, sizeBytes: null };
  const model = (arg as { model?: { repoId?: unknown; sizeBytes?: unknown } } | undefined)?.model;
  if (typeof model?.repoId === 'string')
    return { repoId: model.repoId, sizeBytes: typeof model.sizeBytes === 'number' ? model.sizeBytes : null };
  throw new UsageError('Delete from Cache works on a model of the "Hugging Face cache" section of the Pajamas view');
}

/** Returns the bytes freed, or undefined when the user kept the model. */
export async function deleteCachedModel(ctx: Ctx, models: ModelsView, arg?: unknown): Promise<number | undefined> {
  const { repoId, sizeBytes } = repoOf(arg);
  const size = sizeBytes === null ? '' : ` (${formatBytes(sizeBytes)})`;
  const choice = await vscode.window.showWarningMessage(
    `Delete ${repoId} from the Hugging Face cache?`,
    {
      modal: true,
      detail: `Every revision of ${repoId}${size} goes, for Python tools too; artifacts you made from it stay. It can be downloaded again.`,
    },
    'Delete',
  );
  if (choice !== 'Delete') return undefined;
  const { freedBytes } = await ctx.worker.request(HubDeleteRequest, { repoId }, `deleting ${repoId}`);
  ctx.output.log(`deleted ${repoId} from the Hugging Face cache (${formatBytes(freedBytes)} freed)`);
  await models.index.refresh();
  return freedBytes;
}
