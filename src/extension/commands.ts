/**
 * Every command of the extension, in one table. One loop registers them and wraps each in the
 * shared error handler, so no command can fail silently or with a raw stack trace. The ids and
 * titles here match `contributes.commands` in package.json (the in-host suite checks both ways).
 */
import * as vscode from 'vscode';
import type { Ctx } from './ctx';
import { reportError } from './errors';
import { showArchitecture } from './features/show-architecture';

export type CommandId = 'pajamas.showArchitecture';

interface CommandSpec {
  /** The title as shown in the palette, used in error notifications. */
  title: string;
  run: (ctx: Ctx, ...args: unknown[]) => Promise<unknown>;
}

const COMMANDS: Record<CommandId, CommandSpec> = {
  'pajamas.showArchitecture': { title: 'Show Architecture', run: showArchitecture },
};

export const COMMAND_IDS = Object.keys(COMMANDS) as CommandId[];

export function registerCommands(ctx: Ctx): vscode.Disposable {
  return vscode.Disposable.from(
    ...COMMAND_IDS.map((id) => {
      const { title, run } = COMMANDS[id];
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
