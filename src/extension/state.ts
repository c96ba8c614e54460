/**
 * The only module that touches Mementos and SecretStorage. The Hugging Face token lives in
 * SecretStorage (the OS keychain where there is one): never in settings, never in a log line.
 */
import type * as vscode from 'vscode';
import { type ChatSettings, type ChatTurn, isChatSettings, isChatTurn } from '../protocol/chat';
import { isStrategyOptions, type StrategyOptions } from '../protocol/strategy-view';

const HF_TOKEN_KEY = 'pajamas.huggingFaceToken';
const OPTIONS_KEY = 'pajamas.strategyOptions';
const CHAT_KEY = 'pajamas.chat';

/** The chat as kept in workspace state (the chat view caps its size before storing it). */
export interface StoredChat {
  /** The picked model's key. */
  selected: string | null;
  turns: ChatTurn[];
  settings: ChatSettings | null;
  droppedTurns: number;
}

export class PajamasState {
  constructor(private readonly context: vscode.ExtensionContext) {}

  huggingFaceToken(): Promise<string | undefined> {
    return Promise.resolve(this.context.secrets.get(HF_TOKEN_KEY));
  }

  async setHuggingFaceToken(token: string | undefined): Promise<void> {
    if (token) await this.context.secrets.store(HF_TOKEN_KEY, token);
    else await this.context.secrets.delete(HF_TOKEN_KEY);
  }

  /** Fires when the token changes (also from another window). */
  onDidChangeSecrets(listener: () => void): vscode.Disposable {
    return this.context.secrets.onDidChange((e) => {
      if (e.key === HF_TOKEN_KEY) listener();
    });
  }

  /** The options last used for a model in this workspace, if any. */
  strategyOptions(modelPath: string): StrategyOptions | undefined {
    const all = this.context.workspaceState.get<Record<string, unknown>>(OPTIONS_KEY) ?? {};
    const saved = all[modelPath];
    return isStrategyOptions(saved) ? saved : undefined;
  }

  async setStrategyOptions(modelPath: string, options: StrategyOptions): Promise<void> {
    const all = this.context.workspaceState.get<Record<string, unknown>>(OPTIONS_KEY) ?? {};
    await this.context.workspaceState.update(OPTIONS_KEY, { ...all, [modelPath]: options });
  }

  /** The chat of this workspace; whatever does not check out is left out. */
  chat(): StoredChat {
    const v = this.context.workspaceState.get<Partial<Record<keyof StoredChat, unknown>>>(CHAT_KEY) ?? {};
    return {
      selected: typeof v.selected === 'string' ? v.selected : null,
      turns: Array.isArray(v.turns) ? v.turns.filter(isChatTurn) : [],
      settings: isChatSettings(v.settings) ? v.settings : null,
      droppedTurns: Number.isSafeInteger(v.droppedTurns) ? (v.droppedTurns as number) : 0,
    };
  }

  async setChat(chat: StoredChat): Promise<void> {
    await this.context.workspaceState.update(CHAT_KEY, chat);
  }
}
