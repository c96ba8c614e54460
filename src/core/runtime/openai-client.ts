/**
 * Client for the OpenAI-compatible streaming API that mlx_lm.server and llama-server speak:
 * POST /v1/chat/completions (or /v1/completions) with `stream: true`, answered with server-sent
 * events (`data: {json}` blocks separated by a blank line, ending with `data: [DONE]`). Aborting
 * closes the connection, which makes both servers stop generating; the text so far is returned.
 */
import { FailureError, ToolError } from '../errors';
import type { ChatMessage, GenerateOptions, GenerateResult, StopReason } from './types';
import { DEFAULT_MAX_TOKENS, DEFAULT_TEMPERATURE } from './types';

/** Longest error body quoted in a message. */
const ERROR_BODY_CHARS = 2000;

export interface OpenAiServer {
  /** e.g. "http://127.0.0.1:8080". */
  baseUrl: string;
  /** For messages, e.g. "mlx_lm.server". */
  name: string;
  /**
   * Sent as `model` when set. Leave it unset for a server started with one model: mlx_lm.server
   * would try to load (even download) whatever model a request names.
   */
  model?: string;
}

interface StreamChoice {
  delta?: { content?: string | null };
  text?: string | null;
  finish_reason?: string | null;
}

interface StreamChunk {
  choices?: StreamChoice[];
  usage?: { completion_tokens?: number } | null;
  error?: { message?: string } | string;
}

export function streamChatCompletion(
  server: OpenAiServer,
  messages: readonly ChatMessage[],
  opts: GenerateOptions = {},
): Promise<GenerateResult> {
  return streamCompletionRequest(server, '/v1/chat/completions', { messages }, opts);
}

/** Raw completion of a prompt (no chat template). */
export function streamTextCompletion(server: OpenAiServer, prompt: string, opts: GenerateOptions = {}): Promise<GenerateResult> {
  return streamCompletionRequest(server, '/v1/completions', { prompt }, opts);
}

function requestBody(server: OpenAiServer, payload: Record<string, unknown>, opts: GenerateOptions): Record<string, unknown> {
  const body: Record<string, unknown> = {
    ...payload,
    stream: true,
    stream_options: { include_usage: true },
    max_tokens: opts.maxTokens ?? DEFAULT_MAX_TOKENS,
    temperature: opts.temperature ?? DEFAULT_TEMPERATURE,
  };
  if (server.model !== undefined) body.model = server.model;
  if (opts.seed !== undefined) body.seed = opts.seed;
  if (opts.topP !== undefined) body.top_p = opts.topP;
  if (opts.stop?.length) body.stop = opts.stop;
  return body;
}

async function streamCompletionRequest(
  server: OpenAiServer,
  endpoint: string,
  payload: Record<string, unknown>,
  opts: GenerateOptions,
): Promise<GenerateResult> {
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  if (opts.signal?.aborted) return { text: '', stopReason: 'cancelled', tokens: 0 };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const state = { text: '', chunks: 0, usageTokens: null as number | null, finish: null as string | null };
  try {
    const response = await fetch(`${server.baseUrl}${endpoint}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify(requestBody(server, payload, opts)),
      signal: controller.signal,
    });
    if (!response.ok || !response.body) {
      const body = (await response.text().catch(() => '')).slice(0, ERROR_BODY_CHARS);
      throw new ToolError(server.name, null, body ? [body] : [], `${server.name} answered ${endpoint} with HTTP ${response.status}`);
    }
    for await (const data of serverSentEvents(response.body)) {
      if (data === '[DONE]') break;
      applyChunk(server, parseChunk(server, data), state, opts);
    }
  } catch (error) {
    if (!opts.signal?.aborted) throw error;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
  const stopReason: StopReason = opts.signal?.aborted ? 'cancelled' : state.finish === 'length' ? 'max-tokens' : 'eos';
  return { text: state.text, stopReason, tokens: state.usageTokens ?? state.chunks };
}

function parseChunk(server: OpenAiServer, data: string): StreamChunk {
  try {
    return JSON.parse(data) as StreamChunk;
  } catch {
    throw new FailureError(`${server.name} sent an event that is not JSON: ${data.slice(0, 200)}`);
  }
}

function applyChunk(
  server: OpenAiServer,
  chunk: StreamChunk,
  state: { text: string; chunks: number; usageTokens: number | null; finish: string | null },
  opts: GenerateOptions,
): void {
  if (chunk.error) {
    const message = typeof chunk.error === 'string' ? chunk.error : (chunk.error.message ?? JSON.stringify(chunk.error));
    throw new ToolError(server.name, null, [message], `${server.name} reported an error while generating`);
  }
  if (typeof chunk.usage?.completion_tokens === 'number') state.usageTokens = chunk.usage.completion_tokens;
  const choice = chunk.choices?.[0];
  if (!choice) return;
  const piece = choice.delta?.content ?? choice.text ?? '';
  if (piece) {
    state.text += piece;
    state.chunks++;
    opts.onToken?.(piece);
  }
  if (choice.finish_reason) state.finish = choice.finish_reason;
}

/** The `data` payload of each server-sent event (multi-line data joined with "\n"). */
export async function* serverSentEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      // A "\r\n" may be split across reads: normalise all but a trailing "\r".
      const held = !done && buffer.endsWith('\r') ? '\r' : '';
      buffer = buffer.slice(0, buffer.length - held.length).replace(/\r\n?/g, '\n') + held;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const data = eventData(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (data !== null) yield data;
      }
      if (done) {
        const data = eventData(buffer);
        if (data !== null) yield data;
        return;
      }
    }
  } finally {
    reader.releaseLock();
    await body.cancel().catch(() => undefined);
  }
}

function eventData(block: string): string | null {
  const lines = block.split('\n').filter((l) => l.startsWith('data:'));
  if (!lines.length) return null; // comments (": ping") and other fields carry no payload
  return lines.map((l) => l.slice(5).replace(/^ /, '')).join('\n');
}
