/**
 * The generation loop every request of the model host goes through (chat, raw completion, the
 * benchmark): make the KV cache hold the prompt (reusing the longest prefix it already holds, in
 * batches of the context's batch size), then sample, report and decode one token at a time. One
 * batch, one decode and one sample call per token; nothing else crosses into the binding.
 */
import { CancelledError } from '../errors';
import type { SamplerConfig, SequenceInternals } from './llama-internals';

export type Token = number;

/**
 * With a binding that evaluates on the calling thread, decode and sample settle at once and the
 * loop would never return to the event loop: no cancel message, no batched text would get through
 * until the reply ended. It yields (one setImmediate) when this long has passed since the last turn.
 */
const EVENT_LOOP_TURN_MS = 10;

export interface LoopOptions {
  maxTokens: number;
  sampler: Omit<SamplerConfig, 'seed'> & { seed?: number };
  /** Benchmarks on random weights: keep going past end-of-generation tokens. */
  ignoreEog?: boolean;
  isEog: (token: Token) => boolean;
  /** Called with each generated token; returning true stops the loop (a stop string was seen). */
  onToken: (token: Token) => boolean;
  signal?: AbortSignal;
}

export type LoopStop = 'eos' | 'max-tokens' | 'stop' | 'cancelled' | 'context-full';

export interface LoopResult {
  tokens: number;
  stop: LoopStop;
}

export class SequenceRunner {
  /** The tokens the KV cache holds for this sequence, in order. */
  private cached: Token[] = [];

  constructor(
    private readonly internals: SequenceInternals,
    private readonly batchSize: number,
    private readonly contextSize: number,
  ) {}

  /** Tokens in the cache (the prompt and what was generated after it). */
  get length(): number {
    return this.cached.length;
  }

  /**
   * Makes the cache hold exactly `prompt` and returns the batch index of the last token's logits.
   * At least the last token is decoded again, for its logits.
   */
  async prefill(prompt: readonly Token[], signal?: AbortSignal): Promise<number> {
    if (!prompt.length) throw new RangeError('prefill needs at least one token');
    let keep = Math.min(commonPrefix(this.cached, prompt), prompt.length - 1);
    const ctx = this.internals.context;
    if (keep < this.cached.length && !ctx.removeTokenCellsFromSequence(this.internals.sequenceId, keep, -1)) {
      // Recurrent state cannot be cut back: start from an empty cache.
      ctx.removeTokenCellsFromSequence(this.internals.sequenceId, 0, -1);
      keep = 0;
    }
    this.cached.length = keep;
    let logitIndex = -1;
    for (let start = keep; start < prompt.length; start += this.batchSize) {
      if (start > keep) await new Promise<void>((resolve) => setImmediate(resolve)); // let a cancel in between batches
      if (signal?.aborted) throw new CancelledError();
      const chunk = prompt.slice(start, start + this.batchSize);
      const last = start + chunk.length === prompt.length;
      logitIndex = await this.decode(chunk, last);
    }
    return logitIndex;
  }

  /** Generates after `prompt` until EOG, a stop, the token limit, a cancel or a full context. */
  async generate(prompt: readonly Token[], opts: LoopOptions): Promise<LoopResult> {
    if (opts.maxTokens <= 0) return { tokens: 0, stop: 'max-tokens' };
    if (opts.signal?.aborted) return { tokens: 0, stop: 'cancelled' };
    let logitIndex = await this.prefill(prompt, opts.signal);
    const sampler = this.internals.newSampler();
    try {
      sampler.applyConfig({ ...opts.sampler, seed: opts.sampler.seed ?? Math.floor(Date.now() / 1000) });
      let lastTurn = performance.now();
      for (let count = 0; ;) {
        if (performance.now() - lastTurn >= EVENT_LOOP_TURN_MS) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          lastTurn = performance.now();
        }
        const token = await this.internals.context.sampleToken(logitIndex, sampler._sampler);
        if (token < 0) throw new Error('llama.cpp sampled no token');
        if (!opts.ignoreEog && opts.isEog(token)) return { tokens: count, stop: 'eos' };
        count++;
        if (opts.onToken(token)) return { tokens: count, stop: 'stop' };
        if (opts.signal?.aborted) return { tokens: count, stop: 'cancelled' };
        if (count >= opts.maxTokens) return { tokens: count, stop: 'max-tokens' };
        if (this.cached.length >= this.contextSize) return { tokens: count, stop: 'context-full' };
        logitIndex = await this.decode([token], true);
      }
    } finally {
      sampler.dispose();
    }
  }

  /** Forgets the cache (the next prefill decodes everything). */
  clear(): void {
    this.internals.context.removeTokenCellsFromSequence(this.internals.sequenceId, 0, -1);
    this.cached = [];
  }

  private async decode(tokens: readonly Token[], wantLogits: boolean): Promise<number> {
    const ctx = this.internals.context;
    ctx.initBatch(tokens.length);
    const logits = wantLogits ? Uint32Array.of(tokens.length - 1) : new Uint32Array(0);
    const indexes = ctx.addToBatch(this.internals.sequenceId, this.cached.length, Uint32Array.from(tokens), logits);
    try {
      await ctx.decodeBatch();
    } catch (error) {
      // What was in the batch may or may not be in the cache now: forget it all, to be safe.
      this.clear();
      throw error;
    }
    this.cached.push(...tokens);
    return wantLogits ? indexes[0]! : -1;
  }
}

function commonPrefix(a: readonly Token[], b: readonly Token[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}
