/**
 * The chat's model session, held by the worker: the runtime's memory-fit check before loading
 * (pajamas/chatFit), one open RuntimeSession at a time (loading another closes the previous one
 * first, so its memory is freed before the next model loads), and replies streamed to the client
 * in batches. The conversation is the client's: each reply gets it whole and the session is reset
 * first, so what the user sees is exactly what the model was given.
 */
import type { Connection } from 'vscode-languageserver/node';
import { UsageError } from '../core/errors';
import type { JobOptions } from '../core/job';
import { openSession, planSession } from '../core/runtime/session';
import type { ChatMessage, RuntimeSession } from '../core/runtime/types';
import {
  type ChatFitParams,
  type ChatFitResult,
  type ChatGenerateParams,
  type ChatGenerateResult,
  type ChatLoadParams,
  type ChatLoadResult,
  ChatFitRequest,
  ChatGenerateRequest,
  ChatLoadRequest,
  ChatTextNotification,
  ChatUnloadRequest,
} from '../protocol/chat';
import { handled } from './errors';
import type { JobRegistry } from './jobs';
import { processTreeRss } from './process-memory';

/** Streamed text goes out at once, then at most once per this interval (a message per token would flood the host). */
export const CHAT_TEXT_INTERVAL_MS = 33;

interface OpenChat {
  id: number;
  session: RuntimeSession;
  backend: string;
  /** The system prompt the session holds (it keeps one until another replaces it). */
  systemPrompt: string | null;
}

export class ChatSessions {
  private current: OpenChat | null = null;
  private nextId = 1;
  private generation: { jobId: string; controller: AbortController } | null = null;

  constructor(private readonly sendText: (jobId: string, text: string) => void) {}

  async fit(p: ChatFitParams, opts: JobOptions = {}): Promise<ChatFitResult> {
    const plan = await planSession(p.input, {
      ...opts,
      artifact: p.artifactId ?? undefined,
      contextSize: p.contextSize,
      memoryBudget: p.memoryBudgetBytes === undefined ? undefined : { ramBytes: p.memoryBudgetBytes, vramBytes: 0, unified: false },
    });
    const id = p.artifactId ?? plan.target.artifacts[0]?.id;
    const candidate = plan.choice.ranked.find((c) => c.artifact.id === id);
    if (!candidate) throw new UsageError(`no artifact "${id}" in ${plan.target.path}`);
    const fits = candidate.placement !== null;
    const other = fits ? undefined : plan.choice.ranked.find((c) => c.placement !== null && c.artifact.id !== id);
    const gpu = plan.budget.vramBytes > 0;
    return {
      fits,
      explanation: fits ? plan.choice.explanation : noFitExplanation(plan.choice.explanation, candidate.maxContext),
      neededBytes: candidate.estimate.totalBytes,
      maxContext: candidate.maxContext,
      alternative: other ? { artifactId: other.artifact.id, neededBytes: other.estimate.totalBytes } : null,
      backend: plan.backend.backend === 'mlx' ? 'mlx_lm' : `node-llama-cpp (${gpu ? 'GPU' : 'CPU'})`,
    };
  }

  async load(p: ChatLoadParams, opts: JobOptions): Promise<ChatLoadResult> {
    const started = performance.now();
    const beforeBytes = await processTreeRss();
    await this.close();
    const afterCloseBytes = await processTreeRss();
    const session = await openSession(p.input, {
      ...opts,
      artifact: p.artifactId ?? undefined,
      contextSize: p.contextSize,
      verify: 'full',
    });
    const info = session.info;
    const backend = info.backend === 'gguf' ? `node-llama-cpp (${info.device})` : 'mlx_lm';
    this.current = { id: this.nextId++, session, backend, systemPrompt: null };
    opts.log?.(`chat: loaded ${info.artifactId} (${backend}, context ${info.contextSize})`);
    return {
      sessionId: this.current.id,
      info,
      memory: { beforeBytes, afterCloseBytes, loadedBytes: await processTreeRss() },
      loadMs: performance.now() - started,
    };
  }

  async generate(p: ChatGenerateParams): Promise<ChatGenerateResult> {
    const open = this.current;
    if (!open || open.id !== p.sessionId)
      throw new UsageError('that model is no longer loaded in the worker; it loads again on the next message');
    if (this.generation) throw new UsageError('a reply is still being generated; stop it first');
    const controller = new AbortController();
    this.generation = { jobId: p.jobId, controller };
    const batch = new TextBatch((text) => this.sendText(p.jobId, text));
    try {
      await open.session.reset();
      const messages = withSystemPrompt(p.messages, open.systemPrompt);
      open.systemPrompt = messages[0]?.role === 'system' ? messages[0].content : open.systemPrompt;
      const started = performance.now();
      let firstAt: number | null = null;
      const result = await open.session.chat(messages, {
        onToken: (text) => {
          firstAt ??= performance.now();
          batch.push(text);
        },
        signal: controller.signal,
        temperature: p.generation.temperature,
        topP: p.generation.topP,
        maxTokens: p.generation.maxTokens,
        seed: p.generation.seed,
      });
      batch.flush();
      const ended = performance.now();
      const first = firstAt ?? ended;
      return {
        text: result.text,
        stopReason: result.stopReason,
        stats: {
          tokens: result.tokens,
          ttftMs: first - started,
          tokensPerSecond: result.tokens > 1 && ended > first ? ((result.tokens - 1) * 1000) / (ended - first) : 0,
          totalMs: ended - started,
          contextUsed: result.contextTokens ?? null,
          contextSize: open.session.info.contextSize,
          memoryBytes: await processTreeRss(),
        },
      };
    } finally {
      batch.flush();
      this.generation = null;
    }
  }

  /** Stops the reply `jobId`, if it is the one being generated (its request then resolves with the text so far). */
  cancel(jobId: string): boolean {
    if (this.generation?.jobId !== jobId) return false;
    this.generation.controller.abort();
    return true;
  }

  async unload(sessionId: number | null): Promise<{ beforeBytes: number; afterBytes: number }> {
    const beforeBytes = await processTreeRss();
    if (this.current && (sessionId === null || sessionId === this.current.id)) await this.close();
    return { beforeBytes, afterBytes: await processTreeRss() };
  }

  async close(): Promise<void> {
    const open = this.current;
    this.current = null;
    this.generation?.controller.abort();
    if (open) await open.session.close();
  }
}

/**
 * A session keeps its system prompt until a message replaces it: a conversation without one after
 * one was set gets an empty one, so an old prompt never leaks into a new conversation.
 */
function withSystemPrompt(messages: ChatMessage[], held: string | null): ChatMessage[] {
  if (messages[0]?.role === 'system' || !held) return messages;
  return [{ role: 'system', content: '' }, ...messages];
}

function noFitExplanation(explanation: string, maxContext: number): string {
  return maxContext > 0 ? `${explanation}\nWith a context of at most ${maxContext} tokens it would fit.` : explanation;
}

/** Text pieces out: the first at once, then what gathered, at most every CHAT_TEXT_INTERVAL_MS. */
class TextBatch {
  private pending = '';
  private timer: NodeJS.Timeout | undefined;
  private sentAny = false;

  constructor(private readonly send: (text: string) => void) {}

  push(text: string): void {
    if (!text) return;
    this.pending += text;
    if (!this.sentAny) return this.flush();
    this.timer ??= setTimeout(() => this.flush(), CHAT_TEXT_INTERVAL_MS);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.pending) return;
    this.sentAny = true;
    const text = this.pending;
    this.pending = '';
    this.send(text);
  }
}

export function registerChatRequests(connection: Connection, jobs: JobRegistry, chat: ChatSessions): void {
  connection.onRequest(
    ChatFitRequest,
    handled((params) => chat.fit(params)),
  );
  connection.onRequest(
    ChatLoadRequest,
    handled((params, token) =>
      jobs.run({ jobId: params.jobId, method: 'chat-load', folder: null, onCancel: (l) => token.onCancellationRequested(l) }, (opts) =>
        chat.load(params, opts),
      ),
    ),
  );
  connection.onRequest(
    ChatGenerateRequest,
    handled((params) => chat.generate(params)),
  );
  connection.onRequest(
    ChatUnloadRequest,
    handled(async ({ sessionId }) => ({ memory: await chat.unload(sessionId) })),
  );
}

export function chatTextSender(connection: Connection): (jobId: string, text: string) => void {
  return (jobId, text) => void connection.sendNotification(ChatTextNotification, { jobId, text });
}
