/**
 * Every command of the extension, in one table. One loop registers them and wraps each in the
 * shared error handler, so no command can fail silently or with a raw stack trace. The ids and
 * titles here match `contributes.commands` in package.json (the in-host suite checks both ways).
 */
import * as vscode from 'vscode';
import { type ChatView, chatWithModel } from './chat';
import type { Ctx } from './ctx';
import { reportError } from './errors';
import { evaluateArtifacts, openManifest, reveal, verifyArtifacts } from './features/artifacts';
import { quantize } from './features/quantize';
import { showArchitecture } from './features/show-architecture';
import { clearHuggingFaceToken, setHuggingFaceToken } from './features/token';
import { openManifestAsJson, openManifestEditor } from './manifest-editor/commands';
import type { ModelsView } from './tree';

export type CommandId =
  | 'pajamas.quantize'
  | 'pajamas.showArchitecture'
  | 'pajamas.verifyArtifacts'
  | 'pajamas.evaluateArtifacts'
  | 'pajamas.openManifest'
  | 'pajamas.reveal'
  | 'pajamas.refreshModels'
  | 'pajamas.setHuggingFaceToken'
  | 'pajamas.clearHuggingFaceToken'
  | 'pajamas.showLog'
  | 'pajamas.restartWorker'
  | 'pajamas.openManifestAsJson'
  | 'pajamas.openManifestEditor'
  | 'pajamas.chatWithModel';

interface CommandSpec {
  /** The title as shown in the palette, used in error notifications. */
  title: string;
  run: (ctx: Ctx, ...args: unknown[]) => Promise<unknown>;
}

function commandTable(models: ModelsView, chat: ChatView): Record<CommandId, CommandSpec> {
  return {
    'pajamas.quantize': { title: 'Quantize with Pajamas', run: quantize },
    'pajamas.showArchitecture': { title: 'Show Architecture', run: showArchitecture },
    'pajamas.verifyArtifacts': { title: 'Verify Artifacts', run: verifyArtifacts },
    'pajamas.evaluateArtifacts': { title: 'Evaluate Artifacts', run: evaluateArtifacts },
    'pajamas.openManifest': { title: 'Open Manifest', run: openManifest },
    'pajamas.reveal': { title: 'Reveal', run: reveal },
    'pajamas.refreshModels': { title: 'Refresh Models', run: () => models.index.refresh() },
    'pajamas.setHuggingFaceToken': { title: 'Set Hugging Face Token', run: setHuggingFaceToken },
    'pajamas.clearHuggingFaceToken': { title: 'Clear Hugging Face Token', run: clearHuggingFaceToken },
    'pajamas.showLog': { title: 'Show Log', run: async (ctx) => ctx.output.show() },
    'pajamas.restartWorker': {
      title: 'Restart Worker',
      run: async (ctx) => {
        if (ctx.jobs.busy) {
          const go = await vscode.window.showWarningMessage('Restarting the worker cancels the running jobs.', { modal: true }, 'Restart');
          if (go !== 'Restart') return;
        }
        await ctx.worker.restart();
      },
    },
    'pajamas.openManifestAsJson': { title: 'Open as JSON', run: (ctx, uri) => openManifestAsJson(ctx, uri) },
    'pajamas.openManifestEditor': { title: 'Open in Manifest Editor', run: openManifestEditor },
    'pajamas.chatWithModel': { title: 'Chat with this Model', run: (_ctx, ...args) => chatWithModel(chat, ...args) },
  };
}

export function registerCommands(ctx: Ctx, models: ModelsView, chat: ChatView): vscode.Disposable {
  const table = commandTable(models, chat);
  return vscode.Disposable.from(
    ...(Object.keys(table) as CommandId[]).map((id) => {
      const { title, run } = table[id];
      return vscode.commands.registerCommand(id, async (...args: unknown[]) => {
        try {
          return await run(ctx, ...args);
        } catch (error) {
          // Not awaited: the notification stays up until dismissed, the command is over.
          void reportError(ctx, title, error);
          return undefined;
        }
      });
    }),
  );
}
