/**
 * A RuntimeSession over an OpenAI-compatible server (mlx_lm.server for MLX artifacts). The server
 * is stateless: every turn sends the whole conversation, and the server applies the model's chat
 * template. Closing stops the server process when the session owns one.
 */
import { Conversation } from './conversation';
import { type OpenAiServer, streamChatCompletion, streamTextCompletion } from './openai-client';
import type { ChatMessage, GenerateOptions, GenerateResult, RuntimeSession, SessionInfo } from './types';

export interface ServerSessionOptions {
  server: OpenAiServer;
  info: SessionInfo;
  systemPrompt?: string;
  /** Called once by close(), e.g. to stop the server process. */
  onClose?: () => Promise<void>;
}

export function createServerSession(opts: ServerSessionOptions): RuntimeSession {
  const conversation = new Conversation(opts.systemPrompt ?? null);
  let closed: Promise<void> | null = null;
  return {
    info: opts.info,
    chat: (messages: string | ChatMessage[], gen: GenerateOptions = {}): Promise<GenerateResult> =>
      conversation.exclusive(async () => {
        const before = conversation.snapshot();
        conversation.add(messages);
        let result: GenerateResult;
        try {
          result = await streamChatCompletion(opts.server, conversation.messages(), gen);
        } catch (error) {
          conversation.restore(before);
          throw error;
        }
        conversation.addReply(result.text);
        return result;
      }),
    complete: (prompt: string, gen: GenerateOptions = {}) => conversation.exclusive(() => streamTextCompletion(opts.server, prompt, gen)),
    history: () => conversation.messages(),
    reset: async () => conversation.reset(),
    close: () => (closed ??= opts.onClose?.() ?? Promise.resolve()),
  };
}
