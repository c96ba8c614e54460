/**
 * The GGUF backend inside the model host: node-llama-cpp runs the file. Chat goes through
 * LlamaChatSession, which renders the chat template stored in the GGUF; raw completion tokenizes
 * the prompt the way llama.cpp's examples do (BOS when the vocabulary asks for it, special tokens
 * parsed) and samples token by token, so a greedy run reproduces llama-simple exactly. The
 * conversation itself lives in the parent (conversation.ts): each chat request carries it whole.
 */
import { CancelledError, FormatError, PajamasError, asPajamasError, throwIfCancelled } from '../errors';
import type { BenchRequest, BenchSample, GenerationReply, LoadRequest, LoadedInfo, WireGenerate } from './model-host/protocol';
import { type Llama, type NodeLlamaCpp, loadNodeLlamaCpp } from './node-llama';
import { StopMatcher, TokenTextDecoder } from './text-stream';
import type { ChatMessage, StopReason } from './types';

type LlamaModel = Awaited<ReturnType<Llama['loadModel']>>;
type LlamaContext = Awaited<ReturnType<LlamaModel['createContext']>>;
type ChatSession = InstanceType<NodeLlamaCpp['LlamaChatSession']>;
type ChatHistoryItem = ReturnType<ChatSession['getChatHistory']>[number];
type Token = ReturnType<LlamaModel['tokenize']>[number];

/** Tokens per decode call, also the micro-batch (node-llama-cpp uses one for both). */
export const DEFAULT_BATCH_SIZE = 512;

export interface EngineLoadOptions extends LoadRequest {
  signal?: AbortSignal;
  /** llama.cpp's error lines since the load began: what a failed load reports. */
  recentErrors?: () => string[];
}

export async function loadGgufEngine(llama: Llama, opts: EngineLoadOptions): Promise<GgufEngine> {
  throwIfCancelled(opts.signal);
  // With a GPU, node-llama-cpp offloads as many layers as fit next to this context (all of them
  // when the memory fit said "gpu"); its own estimate has the last word on partial offloads.
  const gpuLayers = llama.gpu === false || opts.placement === 'cpu' ? 0 : { fitContext: { contextSize: opts.contextSize } };
  const model = await llama
    .loadModel({
      modelPath: opts.modelPath,
      gpuLayers,
      loadSignal: opts.signal,
      defaultContextFlashAttention: opts.flashAttention ?? 'auto',
    })
    .catch((error: unknown) => {
      throw loadError(error, opts);
    });
  let context: LlamaContext;
  try {
    throwIfCancelled(opts.signal);
    context = await model.createContext({
      contextSize: opts.contextSize,
      batchSize: Math.min(opts.batchSize ?? DEFAULT_BATCH_SIZE, opts.contextSize),
      threads: opts.threads ?? llama.cpuMathCores,
      flashAttention: opts.flashAttention ?? 'auto',
      createSignal: opts.signal,
      performanceTracking: true,
    });
  } catch (error) {
    await model.dispose();
    throw opts.signal?.aborted ? new CancelledError() : error;
  }
  const loaded: LoadedInfo = {
    contextSize: context.contextSize,
    chatTemplate: Boolean(model.fileInfo.metadata.tokenizer?.chat_template),
    threads: context.currentThreads,
  };
  return new GgufEngine(await loadNodeLlamaCpp(), model, context, loaded);
}

export class GgufEngine {
  private readonly chatSession: ChatSession;

  constructor(
    lib: NodeLlamaCpp,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    readonly loaded: LoadedInfo,
  ) {
    this.chatSession = new lib.LlamaChatSession({ contextSequence: context.getSequence() });
  }

  /** Replies to the last message (a user message) of `messages`, with the model's chat template. */
  async chat(messages: ChatMessage[], gen: WireGenerate, onText: (text: string) => void, signal: AbortSignal): Promise<GenerationReply> {
    const user = messages[messages.length - 1]!;
    // The session's own history would start with node-llama-cpp's default system prompt: set ours
    // (everything before the new user message). The KV cache keeps the common prefix anyway.
    this.chatSession.setChatHistory(toChatHistory(messages.slice(0, -1)));
    // node-llama-cpp reads maxTokens 0 as "no limit"
    if (gen.maxTokens === 0) return { text: '', stopReason: 'max-tokens', tokens: 0 };
    let tokens = 0;
    const result = await this.chatSession.promptWithMeta(user.content, {
      onTextChunk: onText,
      onToken: (t) => (tokens += t.length),
      signal,
      stopOnAbortSignal: true,
      maxTokens: gen.maxTokens,
      temperature: gen.temperature,
      seed: gen.seed,
      customStopTriggers: gen.stop?.length ? gen.stop : undefined,
    });
    return { text: result.responseText, stopReason: chatStopReason(result.stopReason, signal), tokens };
  }

  /** Raw completion: no template; the continuation of `prompt`. */
  complete(prompt: string, gen: WireGenerate, onText: (text: string) => void, signal: AbortSignal): Promise<GenerationReply> {
    const model = this.model;
    const promptTokens = model.tokenize(prompt, true);
    if (model.tokens.shouldPrependBosToken && model.tokens.bos !== null) promptTokens.unshift(model.tokens.bos);
    if (model.tokens.shouldAppendEosToken && model.tokens.eos !== null) promptTokens.push(model.tokens.eos);
    return this.generate(promptTokens, gen, onText, signal);
  }

  /** The token loop of raw completion (and of the generation benchmark): sample, decode to text, stream. */
  private async generate(
    promptTokens: Token[],
    gen: WireGenerate,
    onText: (text: string) => void,
    signal: AbortSignal,
  ): Promise<GenerationReply> {
    const model = this.model;
    const sequence = this.chatSession.sequence;
    await sequence.clearHistory();
    const decoder = new TokenTextDecoder((tokens: Token[], context: Token[]) => model.detokenize(tokens, false, context), promptTokens);
    const stops = new StopMatcher(gen.stop ?? []);
    let text = '';
    let count = 0;
    let stopReason: StopReason = 'max-tokens';
    const emit = (piece: string) => {
      if (!piece) return;
      text += piece;
      onText(piece);
    };
    if (gen.maxTokens > 0 && !signal.aborted) {
      for await (const token of sequence.evaluate(promptTokens, { temperature: gen.temperature, seed: gen.seed })) {
        if (!gen.ignoreEog && model.isEogToken(token)) {
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
        if (signal.aborted) {
          stopReason = 'cancelled';
          break;
        }
        if (count >= gen.maxTokens) break;
      }
    } else if (signal.aborted) {
      stopReason = 'cancelled';
    }
    if (stopReason !== 'stop') emit(stops.flush(decoder.flush()));
    return { text, stopReason, tokens: count };
  }

  /** Prompt processing of `tokens` random tokens (BOS first), `reps` times on a fresh cache. */
  async benchPromptProcessing({ tokens, reps, vocabSize }: BenchRequest, signal: AbortSignal): Promise<BenchSample> {
    const sequence = this.chatSession.sequence;
    const random = randomTokens(vocabSize);
    const seconds: number[] = [];
    for (let r = 0; r < reps; r++) {
      throwIfCancelled(signal);
      await sequence.clearHistory();
      const prompt = this.withBos(random, tokens);
      const t0 = process.hrtime.bigint();
      await sequence.evaluateWithoutGeneratingNewTokens(prompt);
      seconds.push(elapsed(t0));
    }
    return { seconds, decodeSeconds: null };
  }

  /** Generation of `tokens` tokens after BOS through the same loop as raw completion, text streamed. */
  async benchGeneration(
    { tokens, reps, vocabSize }: BenchRequest,
    onText: (text: string) => void,
    signal: AbortSignal,
  ): Promise<BenchSample> {
    const seconds: number[] = [];
    const start = this.withBos(randomTokens(vocabSize), 1);
    for (let r = 0; r < reps; r++) {
      throwIfCancelled(signal);
      const t0 = process.hrtime.bigint();
      await this.generate(start, { maxTokens: tokens, temperature: 0, ignoreEog: true }, onText, signal);
      seconds.push(elapsed(t0));
    }
    return { seconds, decodeSeconds: null };
  }

  private withBos(random: (n: number) => Token[], count: number): Token[] {
    const bos = this.model.tokens.shouldPrependBosToken ? this.model.tokens.bos : null;
    return bos === null ? random(count) : [bos, ...random(count - 1)];
  }

  async close(): Promise<void> {
    this.chatSession.dispose({ disposeSequence: true });
    await this.context.dispose();
    await this.model.dispose();
  }
}

/** llama-bench draws with std::rand() % n_vocab; any uniform draw does for speed. */
function randomTokens(vocab: number): (count: number) => Token[] {
  let s = 0x12345678;
  const next = () => (((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8) % vocab) as Token;
  return (count) => Array.from({ length: count }, next);
}

/** node-llama-cpp says only "Failed to load model"; llama.cpp's own lines say why. */
function loadError(error: unknown, opts: EngineLoadOptions): Error {
  if (opts.signal?.aborted) return new CancelledError();
  if (error instanceof PajamasError || (error as Error).name === 'InsufficientMemoryError') return asPajamasError(error);
  const why = [...new Set(opts.recentErrors?.().filter((l) => !/failed to load model$/i.test(l)))];
  const detail = why.length ? why.join('; ') : (error as Error).message;
  return new FormatError(`llama.cpp could not load this file: ${detail}`, { path: opts.modelPath });
}

function elapsed(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function toChatHistory(messages: readonly ChatMessage[]): ChatHistoryItem[] {
  return messages.map((m): ChatHistoryItem => {
    if (m.role === 'system') return { type: 'system', text: m.content };
    if (m.role === 'user') return { type: 'user', text: m.content };
    return { type: 'model', response: [m.content] };
  });
}

function chatStopReason(reason: string, signal: AbortSignal): StopReason {
  if (reason === 'abort' || signal.aborted) return 'cancelled';
  if (reason === 'maxTokens') return 'max-tokens';
  if (reason === 'customStopTrigger') return 'stop';
  return 'eos';
}
