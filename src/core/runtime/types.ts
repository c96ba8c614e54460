/**
 * The runtime's public shapes: what a session is asked (messages, generation options) and what it
 * answers (streamed text, a stop reason). Both backends (node-llama-cpp for GGUF, mlx_lm.server for
 * MLX) implement RuntimeSession, so the CLI and the extension do not care which one runs.
 */

export type BackendKind = 'gguf' | 'mlx';

export type ChatRole = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

export interface GenerateOptions {
  /** Called with each piece of text as it is produced (whole UTF-8 characters only). */
  onToken?: (text: string) => void;
  /** Chat: reasoning text (e.g. Harmony's analysis channel) as it is produced; it is not part of the reply. */
  onReasoning?: (text: string) => void;
  /** Aborting stops the reply; the text so far is returned with stopReason "cancelled". */
  signal?: AbortSignal;
  /** Default DEFAULT_MAX_TOKENS. */
  maxTokens?: number;
  /** 0 = greedy (deterministic). Default DEFAULT_TEMPERATURE. */
  temperature?: number;
  /** Nucleus sampling: only the most likely tokens whose probabilities add up to this. Default 1 (off). */
  topP?: number;
  seed?: number;
  /** Strings that end the reply when generated; they are not included in the text. */
  stop?: string[];
}

export type StopReason = 'eos' | 'max-tokens' | 'stop' | 'cancelled';

export interface GenerateResult {
  text: string;
  stopReason: StopReason;
  /** Tokens generated (as the backend counts them; the MLX server's count where it reports one). */
  tokens: number;
  /** Tokens in the context after this reply (prompt and reply), where the backend knows it. */
  contextTokens?: number;
  /** Chat: the reasoning the model gave before its answer, when it gave one apart (Harmony's analysis channel). */
  reasoning?: string;
}

export const DEFAULT_MAX_TOKENS = 512;
export const DEFAULT_TEMPERATURE = 0.7;

export interface SessionInfo {
  backend: BackendKind;
  /** The artifact's id (the file name without extension for a bare GGUF). */
  artifactId: string;
  /** Absolute path of the GGUF file or MLX folder that runs. */
  modelPath: string;
  contextSize: number;
  /** For GGUF: the compute backend node-llama-cpp picked ("cuda", "vulkan", "metal" or "cpu"). */
  device: string;
  /** The memory-fit decision, for display. */
  fit: string;
  /** The model carries a chat template; without one, chat() uses a generic prompt format. */
  chatTemplate: boolean;
}

export interface RuntimeSession {
  readonly info: SessionInfo;
  /**
   * Appends `messages` (usually one user message; a leading system message sets the system prompt)
   * to the conversation, generates the assistant's reply with the model's chat template, appends it
   * (also when cancelled: the partial reply stays) and returns it.
   */
  chat(messages: string | ChatMessage[], opts?: GenerateOptions): Promise<GenerateResult>;
  /**
   * Raw completion: the prompt is tokenized as llama.cpp's examples do (BOS when the vocabulary
   * asks for it, special tokens parsed), no chat template, and the continuation is returned. Does
   * not touch the conversation.
   */
  complete(prompt: string, opts?: GenerateOptions): Promise<GenerateResult>;
  /** The conversation so far (the system prompt first, when there is one). */
  history(): ChatMessage[];
  /** Forgets the conversation, keeping the system prompt. */
  reset(): Promise<void>;
  /** Frees the model, the context and any server process. Idempotent. */
  close(): Promise<void>;
}
