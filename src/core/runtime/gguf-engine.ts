/**
 * The GGUF backend inside the model host: node-llama-cpp loads the file and one context; every
 * request runs through one generation loop (token-loop.ts). Chat renders the conversation with the
 * model's chat template (chat-prompt.ts); raw completion tokenizes the prompt the way llama.cpp's
 * examples do (BOS when the vocabulary asks for it, special tokens parsed), so a greedy run
 * reproduces llama-simple exactly. The conversation itself lives in the parent (conversation.ts):
 * each chat request carries it whole, and the KV cache keeps what the last request left that the
 * new prompt starts with.
 */
import { CancelledError, FormatError, PajamasError, UsageError, asPajamasError, throwIfCancelled } from '../errors';
import type { Logger } from '../job';
import { ChatPromptRenderer } from './chat-prompt';
import { sequenceInternals } from './llama-internals';
import type { BenchRequest, BenchSample, GenerationReply, LoadRequest, LoadedInfo, WireGenerate } from './model-host/protocol';
import { type Llama, loadNodeLlamaCpp } from './node-llama';
import { StopMatcher, TokenTextDecoder } from './text-stream';
import { type LoopResult, SequenceRunner, type Token } from './token-loop';
import type { ChatMessage, StopReason } from './types';

type LlamaModel = Awaited<ReturnType<Llama['loadModel']>>;
type LlamaContext = Awaited<ReturnType<LlamaModel['createContext']>>;
/** node-llama-cpp brands its token numbers; the loop works with plain ones. */
type LlamaToken = ReturnType<LlamaModel['tokenize']>[number];

/** Tokens per decode call, also the micro-batch (node-llama-cpp uses one for both). */
export const DEFAULT_BATCH_SIZE = 512;
/** node-llama-cpp's sampling defaults, kept so replies do not change with the loop. */
const SAMPLING = { topK: 40, topP: 0.95, minP: 0 } as const;

export interface EngineLoadOptions extends LoadRequest {
  signal?: AbortSignal;
  log?: Logger;
  /** llama.cpp's error lines since the load began: what a failed load reports. */
  recentErrors?: () => string[];
}

export async function loadGgufEngine(llama: Llama, opts: EngineLoadOptions): Promise<GgufEngine> {
  throwIfCancelled(opts.signal);
  const lib = await loadNodeLlamaCpp();
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
  try {
    throwIfCancelled(opts.signal);
    const batchSize = Math.min(opts.batchSize ?? DEFAULT_BATCH_SIZE, opts.contextSize);
    const context = await model.createContext({
      contextSize: opts.contextSize,
      batchSize,
      threads: opts.threads ?? llama.cpuMathCores,
      flashAttention: opts.flashAttention ?? 'auto',
      createSignal: opts.signal,
    });
    const internals = await sequenceInternals(lib, model, context, context.getSequence());
    const runner = new SequenceRunner(internals, batchSize, context.contextSize);
    const chat = new ChatPromptRenderer(lib, model);
    opts.log?.(`chat format: ${chat.name}`);
    const loaded: LoadedInfo = {
      contextSize: context.contextSize,
      chatTemplate: Boolean(model.fileInfo.metadata.tokenizer?.chat_template),
      reasoningFormat: chat.name === 'Harmony' ? 'harmony' : null,
      threads: context.currentThreads,
    };
    return new GgufEngine(model, context, runner, chat, loaded, opts.log);
  } catch (error) {
    await model.dispose();
    throw opts.signal?.aborted ? new CancelledError() : error;
  }
}

export class GgufEngine {
  constructor(
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    private readonly runner: SequenceRunner,
    private readonly chatPrompt: ChatPromptRenderer,
    readonly loaded: LoadedInfo,
    private readonly log: Logger | undefined,
  ) {}

  /** Replies to the last message (a user message) of `messages`, with the model's chat template. */
  chat(messages: ChatMessage[], gen: WireGenerate, onText: (text: string) => void, signal: AbortSignal): Promise<GenerationReply> {
    const prompt = this.fitConversation(messages, gen.maxTokens);
    const stops = [...(gen.stop ?? []), ...prompt.stopStrings];
    return this.generate(prompt.tokens, { ...gen, stop: stops }, onText, signal, prompt.stopTokens);
  }

  /** Raw completion: no template; the continuation of `prompt`. */
  complete(prompt: string, gen: WireGenerate, onText: (text: string) => void, signal: AbortSignal): Promise<GenerationReply> {
    const tokens = this.model.tokenize(prompt, true);
    if (this.model.tokens.shouldPrependBosToken && this.model.tokens.bos !== null) tokens.unshift(this.model.tokens.bos);
    if (this.model.tokens.shouldAppendEosToken && this.model.tokens.eos !== null) tokens.push(this.model.tokens.eos);
    if (!tokens.length) throw new UsageError('the prompt is empty and the model adds no BOS token; give it some text');
    this.checkFits(tokens.length, 1);
    return this.generate(tokens, gen, onText, signal);
  }

  /**
   * The rendered conversation, without its oldest turns when it would leave less than a quarter of
   * the context (or maxTokens, if smaller) for the reply; the system prompt and the last message stay.
   */
  private fitConversation(messages: ChatMessage[], maxTokens: number) {
    const room = Math.max(1, Math.min(maxTokens, Math.floor(this.loaded.contextSize / 4)));
    const first = messages[0]?.role === 'system' ? 1 : 0;
    for (let kept = messages; ;) {
      const prompt = this.chatPrompt.render(kept);
      if (prompt.tokens.length + room <= this.loaded.contextSize || kept.length - first <= 1) {
        this.checkFits(prompt.tokens.length, room);
        if (kept !== messages)
          this.log?.(`the conversation is longer than the context; the ${messages.length - kept.length} oldest messages were left out`);
        return prompt;
      }
      kept = [...kept.slice(0, first), ...kept.slice(first + 2)];
    }
  }

  private checkFits(promptTokens: number, room: number): void {
    if (promptTokens + room > this.loaded.contextSize)
      throw new UsageError(
        `the prompt is ${promptTokens} tokens, which leaves no room for a reply in the context of ` +
          `${this.loaded.contextSize} tokens; open the session with a larger context`,
      );
  }

  /** Generation after `tokens`, decoded to text (whole characters, stop strings held back), streamed. */
  private async generate(
    tokens: Token[],
    gen: WireGenerate,
    onText: (text: string) => void,
    signal: AbortSignal,
    stopTokens?: ReadonlySet<Token>,
  ): Promise<GenerationReply> {
    const model = this.model;
    const decoder = new TokenTextDecoder(
      (t: Token[], context: Token[]) => model.detokenize(t as LlamaToken[], false, context as LlamaToken[]),
      tokens,
    );
    const stops = new StopMatcher(gen.stop ?? []);
    let text = '';
    const emit = (piece: string) => {
      if (!piece) return;
      text += piece;
      onText(piece);
    };
    const result: LoopResult = await this.runner.generate(tokens, {
      maxTokens: gen.maxTokens,
      sampler: { ...SAMPLING, topP: gen.topP ?? SAMPLING.topP, temperature: gen.temperature, seed: gen.seed },
      ignoreEog: gen.ignoreEog,
      isEog: (token) => model.isEogToken(token as LlamaToken) || (stopTokens?.has(token) ?? false),
      signal,
      onToken: (token) => {
        const step = stops.push(decoder.push(token));
        emit(step.text);
        return step.stopped;
      },
    });
    if (result.stop !== 'stop') emit(stops.flush(decoder.flush()));
    return { text, stopReason: stopReasonOf(result), tokens: result.tokens, contextTokens: tokens.length + result.tokens };
  }

  /** Prompt processing of `tokens` random tokens (BOS first), `reps` times on an empty cache. */
  async benchPromptProcessing({ tokens, reps, vocabSize }: BenchRequest, signal: AbortSignal): Promise<BenchSample> {
    const random = randomTokens(vocabSize);
    const seconds: number[] = [];
    for (let r = 0; r < reps; r++) {
      throwIfCancelled(signal);
      this.runner.clear();
      const prompt = this.withBos(random, tokens);
      const t0 = process.hrtime.bigint();
      await this.runner.prefill(prompt, signal);
      seconds.push(elapsed(t0));
    }
    return { seconds, decodeSeconds: null };
  }

  /** Generation of `tokens` tokens after BOS through the loop chat and run use, text streamed. */
  async benchGeneration(
    { tokens, reps, vocabSize }: BenchRequest,
    onText: (text: string) => void,
    signal: AbortSignal,
  ): Promise<BenchSample> {
    const seconds: number[] = [];
    const start = this.withBos(randomTokens(vocabSize), 1);
    for (let r = 0; r < reps; r++) {
      throwIfCancelled(signal);
      this.runner.clear();
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
    await this.context.dispose();
    await this.model.dispose();
  }
}

function stopReasonOf(result: LoopResult): StopReason {
  // A full context ends the reply as a token limit does.
  return result.stop === 'context-full' ? 'max-tokens' : result.stop;
}

/** node-llama-cpp says only "Failed to load model"; llama.cpp's own lines say why. */
function loadError(error: unknown, opts: EngineLoadOptions): Error {
  if (opts.signal?.aborted) return new CancelledError();
  if (error instanceof PajamasError || (error as Error).name === 'InsufficientMemoryError') return asPajamasError(error);
  const why = [...new Set(opts.recentErrors?.().filter((l) => !/failed to load model$/i.test(l)))];
  const detail = why.length ? why.join('; ') : (error as Error).message;
  return new FormatError(`llama.cpp could not load this file: ${detail}`, { path: opts.modelPath });
}

/** llama-bench draws with std::rand() % n_vocab; any uniform draw does for speed. */
function randomTokens(vocab: number): (count: number) => Token[] {
  let s = 0x12345678;
  const next = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8) % vocab;
  return (count) => Array.from({ length: count }, next);
}

function elapsed(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e9;
}
