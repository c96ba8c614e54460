/**
 * The chat: the worker requests that hold a model session (the runtime's RuntimeSession, opened in
 * the worker; models load outside the extension host), and the messages between the extension host
 * and the chat webview view. The conversation lives in the host (kept in workspace state); every
 * reply sends it whole, so Regenerate, New chat and a reload need nothing from the worker's side.
 * Replies stream as `pajamas/chatText` notifications, batched; Stop is `pajamas/cancelJob` on the
 * reply's job id, and the reply then resolves with the text so far (stop reason "cancelled").
 */
import { NotificationType, RequestType } from 'vscode-jsonrpc';
import type { ChatMessage, SessionInfo, StopReason } from '../core/runtime/types';
import type { WorkerErrorData } from './errors';
import type { JobParams } from './worker';

export type { ChatMessage, SessionInfo, StopReason };

// ---- worker requests ------------------------------------------------------------------------

/** What to run: a manifest and one of its artifacts, or a bare .gguf file (artifactId null). */
export interface ChatTarget {
  /** A manifest.json or a .gguf file, absolute. */
  input: string;
  artifactId: string | null;
  /** Tokens of context (default: the runtime's, 4096 or the model's trained length if shorter). */
  contextSize?: number;
}

export interface ChatFitParams extends ChatTarget {
  /** Tests only: pretend this much memory is free (bytes of RAM, no GPU). */
  memoryBudgetBytes?: number;
}

export interface ChatFitResult {
  /** The artifact fits the free memory (as the runtime's memory-fit check estimates it). */
  fits: boolean;
  /** The runtime's explanation: what the artifact needs and what is free. */
  explanation: string;
  /** Estimated bytes the artifact needs with this context. */
  neededBytes: number;
  /** The largest context the artifact fits with (0: not even its weights). */
  maxContext: number;
  /** The best-quality artifact of the same manifest that does fit, when this one does not. */
  alternative: { artifactId: string; neededBytes: number } | null;
  /** The backend that would run it, e.g. "node-llama-cpp (cpu)" or "mlx_lm". */
  backend: string;
}

export const ChatFitRequest = new RequestType<ChatFitParams, ChatFitResult, WorkerErrorData>('pajamas/chatFit');

export interface ChatLoadParams extends JobParams, ChatTarget {}

export interface ChatLoadResult {
  /** Names this session in later requests; a new load makes older ids invalid. */
  sessionId: number;
  info: SessionInfo;
  /** Resident memory of the processes that hold models, before the previous session closed, after it closed, and with this one loaded. */
  memory: { beforeBytes: number; afterCloseBytes: number; loadedBytes: number };
  loadMs: number;
}

export const ChatLoadRequest = new RequestType<ChatLoadParams, ChatLoadResult, WorkerErrorData>('pajamas/chatLoad');

export interface ChatGeneration {
  /** 0 = greedy. */
  temperature: number;
  topP: number;
  maxTokens: number;
  seed?: number;
}

export interface ChatGenerateParams extends JobParams {
  sessionId: number;
  /** The whole conversation, a leading system message first when there is one; the last is the user's. */
  messages: ChatMessage[];
  generation: ChatGeneration;
}

export interface ReplyStats {
  tokens: number;
  /** From sending to the first text. */
  ttftMs: number;
  /** Generated tokens per second after the first. */
  tokensPerSecond: number;
  totalMs: number;
  /** Tokens in the context after the reply (prompt and reply), when the backend says. */
  contextUsed: number | null;
  contextSize: number;
  /** Resident memory of the processes that hold models, after the reply. */
  memoryBytes: number;
}

export interface ChatGenerateResult {
  text: string;
  stopReason: StopReason;
  stats: ReplyStats;
}

export const ChatGenerateRequest = new RequestType<ChatGenerateParams, ChatGenerateResult, WorkerErrorData>('pajamas/chatGenerate');

export interface ChatUnloadParams {
  sessionId: number | null;
}

export interface ChatUnloadResult {
  memory: { beforeBytes: number; afterBytes: number };
}

/** Closes the session (null: whichever is open), freeing its model. */
export const ChatUnloadRequest = new RequestType<ChatUnloadParams, ChatUnloadResult, WorkerErrorData>('pajamas/chatUnload');

export interface ChatTextParams {
  jobId: string;
  text: string;
}

/** Worker -> client: more text of the reply `jobId` (the first piece at once, then batched). */
export const ChatTextNotification = new NotificationType<ChatTextParams>('pajamas/chatText');

// ---- the webview view -----------------------------------------------------------------------

export const CHAT_VIEW_ID = 'pajamas.chat';

/** One model the picker offers. */
export interface ChatModelOption {
  /** `<manifest path>#<artifact id>`, or the .gguf path. */
  key: string;
  label: string;
  /** The artifact folder or the file's folder, for grouping. */
  group: string;
  target: ChatTarget;
  format: 'gguf' | 'mlx';
  /** Q4_K_M, mlx-4bit, ...; for a loose file, what its header says. */
  quant: string | null;
  strategy: string | null;
  sizeBytes: number;
  quality: { ppl: number; kldMean: number | null; gatePassed: boolean | null } | null;
  /** The backend that would run it. */
  backend: string;
  /** Why it cannot run here (MLX off Apple Silicon, file missing), else null. */
  unavailable: string | null;
}

export interface ChatSettings {
  systemPrompt: string;
  temperature: number;
  topP: number;
  maxTokens: number;
}

export const DEFAULT_CHAT_SETTINGS: ChatSettings = { systemPrompt: '', temperature: 0.7, topP: 0.95, maxTokens: 512 };
export const CHAT_LIMITS = { maxTokens: 8192, temperature: 2, systemPromptChars: 8000, messageChars: 32_000 } as const;

export interface ChatTurn {
  id: string;
  role: 'user' | 'assistant';
  text: string;
  /** Assistant turns: the model that answered, how the reply ended and its figures. */
  model?: string;
  stopReason?: StopReason;
  stats?: ReplyStats & { worstStallMs: number };
  error?: string;
  /** Still streaming. */
  pending?: boolean;
}

export type SessionView =
  | { state: 'none' }
  | { state: 'idle'; key: string }
  | { state: 'checking'; key: string }
  | { state: 'noFit'; key: string; fit: ChatFitResult; alternativeKey: string | null }
  | { state: 'loading'; key: string }
  | { state: 'ready'; key: string; info: SessionInfo; memoryBytes: number; backend: string }
  | { state: 'error'; key: string; message: string };

export interface ChatViewState {
  models: ChatModelOption[];
  /** Why the list is empty or short (no workspace, listing failed). */
  modelsNote: string | null;
  session: SessionView;
  turns: ChatTurn[];
  settings: ChatSettings;
  /** Earlier turns dropped to keep the stored conversation within its cap. */
  droppedTurns: number;
  busy: boolean;
}

export type ChatViewToHost =
  | { type: 'ready' }
  | { type: 'select'; key: string }
  /** Load the selected model although the memory-fit check says it does not fit. */
  | { type: 'loadAnyway' }
  | { type: 'send'; text: string }
  | { type: 'stop' }
  | { type: 'regenerate' }
  | { type: 'newChat' }
  | { type: 'settings'; settings: ChatSettings }
  | { type: 'copy'; text: string }
  | { type: 'refreshModels' };

export type ChatHostToView =
  | { type: 'init'; state: ChatViewState }
  | { type: 'state'; state: ChatViewState }
  /** More text of a streaming reply (cheaper than a whole state), which goes at offset `at` of its text. */
  | { type: 'text'; turnId: string; at: number; text: string };

type Fields = Record<string, unknown>;
const isObject = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === 'string';
const inRange = (v: unknown, min: number, max: number) => typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max;

export function isChatSettings(v: unknown): v is ChatSettings {
  return (
    isObject(v) &&
    isString(v.systemPrompt) &&
    v.systemPrompt.length <= CHAT_LIMITS.systemPromptChars &&
    inRange(v.temperature, 0, CHAT_LIMITS.temperature) &&
    inRange(v.topP, 0, 1) &&
    Number.isInteger(v.maxTokens) &&
    inRange(v.maxTokens, 1, CHAT_LIMITS.maxTokens)
  );
}

/** The host's check of every message the view sends (a webview is untrusted input). */
export function isChatViewMessage(m: unknown): m is ChatViewToHost {
  if (!isObject(m) || !isString(m.type)) return false;
  switch (m.type) {
    case 'ready':
    case 'loadAnyway':
    case 'stop':
    case 'regenerate':
    case 'newChat':
    case 'refreshModels':
      return true;
    case 'select':
      return isString(m.key) && m.key.length > 0;
    case 'send':
      return isString(m.text) && m.text.trim().length > 0 && m.text.length <= CHAT_LIMITS.messageChars;
    case 'copy':
      return isString(m.text);
    case 'settings':
      return isChatSettings(m.settings);
    default:
      return false;
  }
}

/** A stored conversation read back from workspace state (any shape may be there: check it). */
export function isChatTurn(v: unknown): v is ChatTurn {
  return isObject(v) && isString(v.id) && (v.role === 'user' || v.role === 'assistant') && isString(v.text);
}
