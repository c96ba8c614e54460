/**
 * Messages between a parent (the CLI, the worker) and its model host: the child process that owns
 * node-llama-cpp, so that a native abort inside llama.cpp ends that process and not its parent.
 * Requests carry ids and get exactly one reply; while a generation runs, the host sends its text
 * in batches (`text` events, at most one per STREAM_FLUSH_MS), never one message per token.
 */
import type { Placement } from '../artifact-choice';
import type { GpuChoice } from '../node-llama';
import type { ChatMessage, StopReason } from '../types';

/** Generation options as they travel (GenerateOptions without the callback and the signal). */
export interface WireGenerate {
  maxTokens: number;
  temperature: number;
  /** Nucleus sampling threshold; the engine's default when absent. */
  topP?: number;
  seed?: number;
  stop?: string[];
  /** Benchmarks on random-weight models: keep generating past end-of-generation tokens. */
  ignoreEog?: boolean;
}

export interface LoadRequest {
  modelPath: string;
  contextSize: number;
  placement: Placement | null;
  threads?: number;
  batchSize?: number;
  flashAttention?: boolean | 'auto';
}

/** Random tokens (BOS first) drawn from the vocabulary, as llama-bench does. */
export interface BenchRequest {
  tokens: number;
  reps: number;
  vocabSize: number;
}

export type HostRequestBody =
  | { type: 'init'; gpu: GpuChoice }
  | ({ type: 'load' } & LoadRequest)
  | { type: 'chat'; messages: ChatMessage[]; gen: WireGenerate }
  | { type: 'complete'; prompt: string; gen: WireGenerate }
  | ({ type: 'bench-pp' } & BenchRequest)
  | ({ type: 'bench-tg' } & BenchRequest)
  | { type: 'close' };

export type HostRequest = HostRequestBody & { id: number };

/** Stops the request `id` (a generation); its reply comes as usual, with stopReason "cancelled". */
export interface CancelMessage {
  type: 'cancel';
  id: number;
}

export type ParentMessage = HostRequest | CancelMessage;

export interface DeviceInfo {
  /** "cuda", "vulkan", "metal" or "cpu". */
  device: string;
  /** GPU name(s) as the driver reports them; empty on the CPU. */
  gpuNames: string[];
  vramTotalBytes: number;
  vramFreeBytes: number;
  /** The GPU shares system RAM (Apple Silicon). */
  unified: boolean;
  /** llama.cpp's count of math cores (physical cores on x86). */
  cpuMathCores: number;
  /** Which llama.cpp build runs: node-llama-cpp's prebuilt binaries or the one built from its bundled source. */
  binding: { kind: 'prebuilt' | 'local'; path: string; note?: string };
}

export interface LoadedInfo {
  contextSize: number;
  chatTemplate: boolean;
  /** 'harmony' when the chat format writes Harmony channels (gpt-oss): the reply's text carries their headers. */
  reasoningFormat: 'harmony' | null;
  threads: number;
}

export interface GenerationReply {
  text: string;
  stopReason: StopReason;
  tokens: number;
  /** Tokens in the context after the reply: the prompt and the reply. */
  contextTokens: number;
}

/** What each request type answers. */
export interface HostReplies {
  init: DeviceInfo;
  load: LoadedInfo;
  chat: GenerationReply;
  complete: GenerationReply;
  'bench-pp': BenchSample;
  'bench-tg': BenchSample;
  close: null;
}

/** Seconds per repetition, measured inside the host (the parent measures the whole round trip too). */
export interface BenchSample {
  seconds: number[];
  /** llama.cpp's own time in llama_decode over the same repetitions, when it reports it. */
  decodeSeconds: number | null;
}

export interface SerializedError {
  code: string;
  message: string;
  data: Record<string, unknown>;
}

export type HostMessage =
  | { type: 'reply'; id: number; ok: true; value: unknown }
  | { type: 'reply'; id: number; ok: false; error: SerializedError }
  | { type: 'text'; id: number; text: string }
  | { type: 'log'; line: string };

/** Text events are batched: the first piece goes at once, later ones at most this often. */
export const STREAM_FLUSH_MS = 33;

const PARENT_TYPES = new Set(['init', 'load', 'chat', 'complete', 'bench-pp', 'bench-tg', 'close', 'cancel']);

export function isParentMessage(value: unknown): value is ParentMessage {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as { type?: unknown; id?: unknown };
  return typeof m.type === 'string' && PARENT_TYPES.has(m.type) && typeof m.id === 'number';
}

export function isHostMessage(value: unknown): value is HostMessage {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as { type?: unknown; id?: unknown; ok?: unknown; text?: unknown; line?: unknown };
  switch (m.type) {
    case 'reply':
      return typeof m.id === 'number' && typeof m.ok === 'boolean';
    case 'text':
      return typeof m.id === 'number' && typeof m.text === 'string';
    case 'log':
      return typeof m.line === 'string';
    default:
      return false;
  }
}
