/**
 * llama.cpp through node-llama-cpp (CPU, float32 KV cache, no flash attention) for the converter's
 * tests: next-token log-probabilities after each position, greedy continuations, tokenization.
 */
type NodeLlamaCpp = typeof import('node-llama-cpp', { with: { 'resolution-mode': 'import' } });
type Llama = Awaited<ReturnType<NodeLlamaCpp['getLlama']>>;
type LlamaModel = Awaited<ReturnType<Llama['loadModel']>>;
type Token = Parameters<LlamaModel['detokenize']>[0][number];

let llamaPromise: Promise<Llama> | undefined;

export async function getCpuLlama(): Promise<Llama> {
  llamaPromise ??= import('node-llama-cpp').then((m) => m.getLlama({ gpu: false, build: 'never', logLevel: m.LlamaLogLevel.error }));
  return llamaPromise;
}

export async function withModel<T>(modelPath: string, fn: (model: LlamaModel) => Promise<T>, vocabOnly = false): Promise<T> {
  const llama = await getCpuLlama();
  const model = await llama.loadModel({ modelPath, gpuLayers: 0, vocabOnly });
  try {
    return await fn(model);
  } finally {
    await model.dispose();
  }
}

async function withSequence<T>(
  model: LlamaModel,
  fn: (seq: ReturnType<Awaited<ReturnType<LlamaModel['createContext']>>['getSequence']>) => Promise<T>,
): Promise<T> {
  const ctx = await model.createContext({
    contextSize: 128,
    batchSize: 128,
    flashAttention: false,
    experimentalKvCacheKeyType: 'F32',
    experimentalKvCacheValueType: 'F32',
    threads: 1,
  });
  try {
    return await fn(ctx.getSequence());
  } finally {
    await ctx.dispose();
  }
}

/** log p(next token) over the whole vocabulary after each position of `ids`. */
export async function llamaLogProbs(modelPath: string, ids: number[]): Promise<Float64Array[]> {
  return withModel(modelPath, (model) =>
    withSequence(model, async (seq) => {
      const options = { temperature: 1, topK: 0, topP: 1, minP: 0 };
      const out = await seq.controlledEvaluate(
        ids.map(
          (t) =>
            [t as Token, { generateNext: { probabilities: true, options } }] as [
              Token,
              { generateNext: { probabilities: true; options: typeof options } },
            ],
        ),
      );
      return out.map((o) => {
        const probs = o!.next.probabilities!;
        const lp = new Float64Array(probs.size).fill(-Infinity);
        for (const [tok, p] of probs) lp[tok] = Math.log(p);
        return lp;
      });
    }),
  );
}

/** Greedy continuation of `prompt` (BOS first), as text. */
export async function greedyContinuation(modelPath: string, prompt: string, tokens: number): Promise<string> {
  return withModel(modelPath, (model) =>
    withSequence(model, async (seq) => {
      const input: Token[] = [model.tokens.bos!, ...model.tokenize(prompt)];
      const out: Token[] = [];
      for await (const t of seq.evaluate(input, { temperature: 0 })) {
        out.push(t);
        if (out.length >= tokens) break;
      }
      return model.detokenize(out);
    }),
  );
}

/** Largest |a - b| over tokens whose reference probability is above `floor` (log-space). */
export function maxLogProbDiff(ref: Float64Array, got: Float64Array, floor = 1e-5): number {
  let max = 0;
  const lf = Math.log(floor);
  for (let i = 0; i < ref.length; i++) if (ref[i]! > lf) max = Math.max(max, Math.abs(ref[i]! - got[i]!));
  return max;
}
