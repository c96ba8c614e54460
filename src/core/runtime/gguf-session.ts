/**
 * The GGUF backend: node-llama-cpp runs the file in-process. Chat goes through LlamaChatSession,
 * which renders the chat template stored in the GGUF; raw completion tokenizes the prompt the way
 * llama.cpp's examples do (BOS when the vocabulary asks for it, special tokens parsed) and samples
 * token by token, so a greedy run reproduces llama-simple exactly.
 */
import { CancelledError, UsageError, throwIfCancelled } from '../errors';
import { preflightGguf } from '../formats/gguf-preflight';
import type { Logger } from '../job';
import type { Placement } from './artifact-choice';
import { Conversation } from './conversation';
import { collectLoadErrors, modelLoadError } from './load-failure';
import { type GpuChoice, type Llama, type NodeLlamaCpp, deviceName, getLlamaInstance, loadNodeLlamaCpp, setLlamaLog } from './node-llama';
import { StopMatcher, TokenTextDecoder } from './text-stream';
import {
  DEFAULT_MAX_TOKENS,
  DEFAULT_TEMPERATURE,
  type ChatMessage,
  type GenerateOptions,
  type GenerateResult,
  type RuntimeSession,
  type SessionInfo,
  type StopReason,
} from './types';

type LlamaModel = Awaited<ReturnType<Llama['loadModel']>>;
type LlamaContext = Awaited<ReturnType<LlamaModel['createContext']>>;
type ChatSession = InstanceType<NodeLlamaCpp['LlamaChatSession']>;
type ChatHistoryItem = ReturnType<ChatSession['getChatHistory']>[number];
type Token = ReturnType<LlamaModel['tokenize']>[number];

export interface GgufSessionOptions {
  /** Absolute path of the GGUF file. */
  modelPath: string;
  artifactId: string;
  contextSize: number;
  /** Where the memory fit placed the model; decides GPU offloading. */
  placement: Placement | null;
  fit: string;
  gpu?: GpuChoice;
  /** CPU threads (default: llama.cpp's count of math cores). */
  threads?: number;
  /** Tokens per decode call, also the micro-batch (node-llama-cpp uses one for both). Default 512. */
  batchSize?: number;
  flashAttention?: boolean | 'auto';
  systemPrompt?: string;
  signal?: AbortSignal;
  log?: Logger;
}

const DEFAULT_BATCH_SIZE = 512;

export async function openGgufSession(opts: GgufSessionOptions): Promise<RuntimeSession> {
  setLlamaLog(opts.log);
  // llama.cpp aborts its process on some malformed files: check the file before it sees it.
  await preflightGguf(opts.modelPath, { signal: opts.signal });
  const llama = await getLlamaInstance(opts.gpu ?? 'auto');
  throwIfCancelled(opts.signal);
  // With a GPU, node-llama-cpp offloads as many layers as fit next to this context (all of them
  // when the memory fit said "gpu"); its own estimate has the last word on partial offloads.
  const gpuLayers = llama.gpu === false || opts.placement === 'cpu' ? 0 : { fitContext: { contextSize: opts.contextSize } };
  const loading = collectLoadErrors(opts.log);
  setLlamaLog(loading.log);
  const model = await llama
    .loadModel({
      modelPath: opts.modelPath,
      gpuLayers,
      loadSignal: opts.signal,
      defaultContextFlashAttention: opts.flashAttention ?? 'auto',
    })
    .catch((error: unknown) => {
      throw opts.signal?.aborted ? new CancelledError() : modelLoadError(opts.modelPath, error, loading.errors);
    })
    .finally(() => setLlamaLog(opts.log));
  let context: LlamaContext | undefined;
  try {
    throwIfCancelled(opts.signal);
    context = await model.createContext({
      contextSize: opts.contextSize,
      batchSize: Math.min(opts.batchSize ?? DEFAULT_BATCH_SIZE, opts.contextSize),
      threads: opts.threads ?? llama.cpuMathCores,
      flashAttention: opts.flashAttention ?? 'auto',
      createSignal: opts.signal,
    });
  } catch (error) {
    await model.dispose();
    throw opts.signal?.aborted ? new CancelledError() : error;
  }
  const info: SessionInfo = {
    backend: 'gguf',
    artifactId: opts.artifactId,
    modelPath: opts.modelPath,
    contextSize: context.contextSize,
    device: deviceName(llama),
    fit: opts.fit,
    chatTemplate: Boolean(model.fileInfo.metadata.tokenizer?.chat_template),
  };
  return new GgufSession(await loadNodeLlamaCpp(), model, context, info, opts.systemPrompt ?? null);
}

class GgufSession implements RuntimeSession {
  private readonly conversation: Conversation;
  private readonly chatSession: ChatSession;
  private closed: Promise<void> | null = null;

  constructor(
    lib: NodeLlamaCpp,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    readonly info: SessionInfo,
    systemPrompt: string | null,
  ) {
    this.conversation = new Conversation(systemPrompt);
    this.chatSession = new lib.LlamaChatSession({ contextSequence: context.getSequence() });
  }

  chat(messages: string | ChatMessage[], opts: GenerateOptions = {}): Promise<GenerateResult> {
    return this.conversation.exclusive(async () => {
      this.ensureOpen();
      const before = this.conversation.snapshot();
      const user = this.conversation.add(messages);
      // The session's own history would start with node-llama-cpp's default system prompt: set ours
      // (everything before the new user message). The KV cache keeps the common prefix anyway.
      this.chatSession.setChatHistory(toChatHistory(this.conversation.messages().slice(0, -1)));
      if (opts.maxTokens === 0) {
        // node-llama-cpp reads maxTokens 0 as "no limit"
        this.conversation.addReply('');
        return { text: '', stopReason: 'max-tokens', tokens: 0 };
      }
      let tokens = 0;
      try {
        const result = await this.chatSession.promptWithMeta(user.content, {
          onTextChunk: (text) => opts.onToken?.(text),
          onToken: (t) => (tokens += t.length),
          signal: opts.signal,
          stopOnAbortSignal: true,
          maxTokens: opts.maxTokens ?? DEFAULT_MAX_TOKENS,
          temperature: opts.temperature ?? DEFAULT_TEMPERATURE,
          seed: opts.seed,
          customStopTriggers: opts.stop?.length ? opts.stop : undefined,
        });
        this.conversation.addReply(result.responseText);
        return { text: result.responseText, stopReason: chatStopReason(result.stopReason, opts.signal), tokens };
      } catch (error) {
        this.conversation.restore(before);
        throw error;
      }
    });
  }

  complete(prompt: string, opts: GenerateOptions = {}): Promise<GenerateResult> {
    return this.conversation.exclusive(async () => {
      this.ensureOpen();
      return this.rawCompletion(prompt, opts);
    });
  }

  private async rawCompletion(prompt: string, opts: GenerateOptions): Promise<GenerateResult> {
    const model = this.model;
    const promptTokens = model.tokenize(prompt, true);
    if (model.tokens.shouldPrependBosToken && model.tokens.bos !== null) promptTokens.unshift(model.tokens.bos);
    if (model.tokens.shouldAppendEosToken && model.tokens.eos !== null) promptTokens.push(model.tokens.eos);
    const sequence = this.chatSession.sequence;
    await sequence.clearHistory();
    const decoder = new TokenTextDecoder((tokens: Token[], context: Token[]) => model.detokenize(tokens, false, context), promptTokens);
    const stops = new StopMatcher(opts.stop ?? []);
    const maxTokens = opts.maxTokens ?? DEFAULT_MAX_TOKENS;
    let text = '';
    let count = 0;
    let stopReason: StopReason = 'max-tokens';
    const emit = (piece: string) => {
      if (!piece) return;
      text += piece;
      opts.onToken?.(piece);
    };
    if (maxTokens > 0 && !opts.signal?.aborted) {
      for await (const token of sequence.evaluate(promptTokens, {
        temperature: opts.temperature ?? DEFAULT_TEMPERATURE,
        seed: opts.seed,
      })) {
        if (model.isEogToken(token)) {
          stopReason = 'eos';
          break;
        }
        count++;
        const step = stops.push(decoder.push(token));
        emit(step.text);
        if (step.stopped) {
          stopReason = 'stop';
          break;
        }
        if (opts.signal?.aborted) {
          stopReason = 'cancelled';
          break;
        }
        if (count >= maxTokens) break;
      }
    } else if (opts.signal?.aborted) {
      stopReason = 'cancelled';
    }
    if (stopReason !== 'stop') emit(stops.flush(decoder.flush()));
    return { text, stopReason, tokens: count };
  }

  history(): ChatMessage[] {
    return this.conversation.messages();
  }

  async reset(): Promise<void> {
    this.ensureOpen();
    this.conversation.reset();
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      this.chatSession.dispose({ disposeSequence: true });
      await this.context.dispose();
      await this.model.dispose();
    })();
    return this.closed;
  }

  private ensureOpen(): void {
    if (this.closed) throw new UsageError('the session is closed; open a new one');
  }
}

function toChatHistory(messages: readonly ChatMessage[]): ChatHistoryItem[] {
  return messages.map((m): ChatHistoryItem => {
    if (m.role === 'system') return { type: 'system', text: m.content };
    if (m.role === 'user') return { type: 'user', text: m.content };
    return { type: 'model', response: [m.content] };
  });
}

function chatStopReason(reason: string, signal: AbortSignal | undefined): StopReason {
  if (reason === 'abort' || signal?.aborted) return 'cancelled';
  if (reason === 'maxTokens') return 'max-tokens';
  if (reason === 'customStopTrigger') return 'stop';
  return 'eos';
}
