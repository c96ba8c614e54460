/**
 * The chat view (a webview view in the Pajamas sidebar) and "Chat with this Model". The page is not
 * kept while hidden: when shown again it sends `ready` and gets the whole state back with `init`
 * (the streaming reply's text so far included), so hiding and showing loses nothing.
 */
import path from 'node:path';
import * as vscode from 'vscode';
import { UsageError } from '../../core/errors';
import { CHAT_VIEW_ID, type ChatHostToView, type ChatViewToHost, isChatViewMessage } from '../../protocol/chat';
import type { Ctx } from '../ctx';
import { pathsFromArgs } from '../pick';
import type { ModelsView } from '../tree';
import { WebviewChannel } from '../webview/channel';
import { renderHtml, webviewOptions } from '../webview/html';
import { ChatController } from './controller';
import { chatKey } from './models';

export interface ChatView extends vscode.Disposable {
  controller: ChatController;
  /** Shows the view with `key` picked and loading (the "Chat with this Model" actions). */
  open(key: string): Promise<void>;
}

class ChatViewProvider implements vscode.WebviewViewProvider {
  private channel: WebviewChannel<ChatViewToHost, ChatHostToView> | undefined;

  constructor(
    private readonly ctx: Ctx,
    private readonly controller: () => ChatController,
  ) {}

  post(message: ChatHostToView): void {
    this.channel?.post(message);
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    const { extensionUri } = this.ctx.extension;
    view.webview.options = webviewOptions(extensionUri);
    this.channel?.dispose();
    const channel = new WebviewChannel<ChatViewToHost, ChatHostToView>({
      webview: view.webview,
      name: 'Chat view',
      output: this.ctx.output,
      isMessage: isChatViewMessage,
      init: () => ({ type: 'init', state: this.controller().state }),
      onMessage: (m) => this.handle(m),
    });
    this.channel = channel;
    view.webview.html = renderHtml(view.webview, extensionUri, 'chat', 'Chat');
    view.onDidChangeVisibility(() => {
      if (!view.visible) channel.detach();
    });
    view.onDidDispose(() => {
      channel.dispose();
      if (this.channel === channel) this.channel = undefined;
    });
  }

  private async handle(m: Exclude<ChatViewToHost, { type: 'ready' }>): Promise<void> {
    const c = this.controller();
    switch (m.type) {
      case 'select':
        await c.select(m.key);
        return;
      case 'loadAnyway':
        return c.loadAnyway();
      case 'send':
        return c.send(m.text);
      case 'stop':
        return c.stop();
      case 'regenerate':
        return c.regenerate();
      case 'newChat':
        return c.newChat();
      case 'settings':
        return c.setSettings(m.settings);
      case 'copy':
        await vscode.env.clipboard.writeText(m.text);
        return;
      case 'refreshModels':
        return this.refresh();
      default:
        return assertNever(m);
    }
  }

  private async refresh(): Promise<void> {
    await vscode.commands.executeCommand('pajamas.refreshModels');
  }
}

export function registerChatView(ctx: Ctx, models: ModelsView): ChatView {
  // The provider posts to whichever page is live; the controller posts through the provider.
  const events = { post: (_m: ChatHostToView): void => undefined };
  const controller = new ChatController(ctx, models.index, {
    state: (state) => events.post({ type: 'state', state }),
    text: (turnId, at, text) => events.post({ type: 'text', turnId, at, text }),
  });
  const provider = new ChatViewProvider(ctx, () => controller);
  events.post = (m) => provider.post(m);
  const registration = vscode.window.registerWebviewViewProvider(CHAT_VIEW_ID, provider, {
    webviewOptions: { retainContextWhenHidden: false },
  });
  const c = controller;
  return {
    controller: c,
    open: async (key) => {
      await vscode.commands.executeCommand(`${CHAT_VIEW_ID}.focus`);
      await c.select(key);
    },
    dispose: () => {
      registration.dispose();
      void c.unload();
      c.dispose();
    },
  };
}

/**
 * "Chat with this Model": from an artifact of the Pajamas view, a .gguf (view, explorer, a path),
 * or `{manifestPath, artifactId}` (the manifest editor and the Strategy view).
 */
export async function chatWithModel(chat: ChatView, ...args: unknown[]): Promise<void> {
  const [arg] = args;
  if (typeof arg === 'object' && arg !== null && 'manifestPath' in arg) {
    const { manifestPath, artifactId } = arg as { manifestPath: unknown; artifactId: unknown };
    if (typeof manifestPath === 'string' && typeof artifactId === 'string') return chat.open(chatKey({ input: manifestPath, artifactId }));
  }
  // An artifact node of the Pajamas view carries its manifest and id.
  const node = arg as { artifact?: { id?: unknown }; manifestPath?: unknown } | undefined;
  if (typeof node?.artifact?.id === 'string' && typeof node.manifestPath === 'string')
    return chat.open(chatKey({ input: node.manifestPath, artifactId: node.artifact.id }));
  const [file] = pathsFromArgs(args, 'an artifact or a .gguf file');
  if (!file) {
    await vscode.commands.executeCommand(`${CHAT_VIEW_ID}.focus`);
    return;
  }
  if (!file.toLowerCase().endsWith('.gguf'))
    throw new UsageError(`${path.basename(file)} is not a .gguf file or an artifact of a manifest`);
  return chat.open(chatKey({ input: file, artifactId: null }));
}

function assertNever(m: never): never {
  throw new Error(`unhandled message ${JSON.stringify(m)}`);
}
