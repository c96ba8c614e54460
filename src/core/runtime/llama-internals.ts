/**
 * The parts of node-llama-cpp below its public API that the generation loop (token-loop.ts) uses.
 * Its public loop (`LlamaContextSequence.evaluate`, and LlamaChatSession on top of it) costs about
 * 170 us (evaluate) and 560 us (chat session) of JavaScript per generated token on top of
 * llama.cpp's own work, which on a small model is as much as the model itself (issue 14 note); the
 * loop here calls the binding's batch, decode and sample functions directly, once per token.
 *
 * Everything used is listed here and checked when a model loads, against the exactly pinned
 * node-llama-cpp version (package.json): an update that changes any of it fails with a message
 * naming the missing piece, and the runtime tests fail, instead of generating garbage.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { FailureError } from '../errors';
import type { Llama, NodeLlamaCpp } from './node-llama';

type LlamaModel = Awaited<ReturnType<Llama['loadModel']>>;
type LlamaContext = Awaited<ReturnType<LlamaModel['createContext']>>;
type LlamaContextSequence = ReturnType<LlamaContext['getSequence']>;

/** node-llama-cpp's AddonContext (llama/addon/AddonContext.cpp). */
export interface AddonContext {
  initBatch(tokens: number): void;
  /** Returns, for each requested logit index, its index in the batch. */
  addToBatch(sequenceId: number, firstPosition: number, tokens: Uint32Array, logitIndexes: Uint32Array): Uint32Array;
  decodeBatch(): Promise<void>;
  /** -1 when nothing could be sampled. */
  sampleToken(batchLogitIndex: number, sampler: unknown): Promise<number>;
  /** llama_memory_seq_rm: false when the memory cannot drop a partial range (recurrent models). */
  removeTokenCellsFromSequence(sequenceId: number, start: number, end: number): boolean;
}

/** node-llama-cpp's LlamaSampler (dist/evaluator/LlamaContext/LlamaSampler.js). */
export interface Sampler {
  readonly _sampler: unknown;
  applyConfig(config: SamplerConfig): void;
  dispose(): void;
}

/** What AddonSampler.applyConfig takes; node-llama-cpp's own defaults where the public API has them. */
export interface SamplerConfig {
  temperature: number;
  minP: number;
  topK: number;
  topP: number;
  seed: number;
}

export interface SequenceInternals {
  context: AddonContext;
  sequenceId: number;
  newSampler(): Sampler;
}

const CONTEXT_METHODS = ['initBatch', 'addToBatch', 'decodeBatch', 'sampleToken', 'removeTokenCellsFromSequence'] as const;

let samplerClass: Promise<new (model: LlamaModel) => Sampler> | undefined;

function loadSamplerClass(): Promise<new (model: LlamaModel) => Sampler> {
  samplerClass ??= (async () => {
    const file = path.join(path.dirname(require.resolve('node-llama-cpp')), 'evaluator', 'LlamaContext', 'LlamaSampler.js');
    const mod = (await import(pathToFileURL(file).href)) as { LlamaSampler?: new (model: LlamaModel) => Sampler };
    if (typeof mod.LlamaSampler !== 'function') throw internalsMissing('LlamaSampler');
    return mod.LlamaSampler;
  })();
  return samplerClass;
}

function internalsMissing(what: string): FailureError {
  return new FailureError(`node-llama-cpp's ${what} is not what Llama-Pajamas was written against; reinstall the pinned version (npm ci)`, {
    what,
  });
}

/** The binding objects behind a context sequence, checked. */
export async function sequenceInternals(_lib: NodeLlamaCpp, model: LlamaModel, context: LlamaContext, sequence: LlamaContextSequence) {
  const addon = (context as unknown as { _ctx?: Partial<AddonContext> })._ctx;
  const sequenceId = (sequence as unknown as { _sequenceId?: unknown })._sequenceId;
  for (const method of CONTEXT_METHODS) if (typeof addon?.[method] !== 'function') throw internalsMissing(`AddonContext.${method}`);
  if (typeof sequenceId !== 'number') throw internalsMissing('LlamaContextSequence._sequenceId');
  const Sampler = await loadSamplerClass();
  const internals: SequenceInternals = { context: addon as AddonContext, sequenceId, newSampler: () => new Sampler(model) };
  return internals;
}
