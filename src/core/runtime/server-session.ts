/**
 * A RuntimeSession over an OpenAI-compatible server (mlx_lm.server for MLX artifacts). The server
 * is stateless: every turn sends the whole conversation, and the server applies the model's chat
 * template. Closing stops the server process when the session owns one.
 */
import { conversationSession } from './conversation';
import { type OpenAiServer, streamChatCompletion, streamTextCompletion } from './openai-client';
import type { RuntimeSession, SessionInfo } from './types';

export interface ServerSessionOptions {
  server: OpenAiServer;
  info: SessionInfo;
  systemPrompt?: string;
  /** Called once by close(), e.g. to stop the server process. */
  onClose?: () => Promise<void>;
}

export function createServerSession(opts: ServerSessionOptions): RuntimeSession {
  return conversationSession(opts.info, opts.systemPrompt, {
    chat: (messages, gen) => streamChatCompletion(opts.server, messages, gen),
    complete: (prompt, gen) => streamTextCompletion(opts.server, prompt, gen),
    close: () => opts.onClose?.() ?? Promise.resolve(),
  });
}
