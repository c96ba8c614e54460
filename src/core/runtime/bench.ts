/**
 * Speed of the runtime against llama.cpp itself, on the same GGUF with the same threads: prompt
 * processing (pp: one batch of `promptTokens` random tokens) and generation (tg: `genTokens`
 * tokens one at a time), in tokens per second, through node-llama-cpp and through the natively
 * built `llama-bench`. The node-llama-cpp side mirrors llama-bench's method (tools/llama-bench):
 * a warm-up run, a fresh KV cache per repetition, BOS first, micro-batch = llama-bench's
 * ubatch (node-llama-cpp uses its batch size as the micro-batch), flash attention on "auto".
 * Rounds alternate the two in ABBA order so a noisy neighbour slows both alike; each side reports
 * its best round (the one least disturbed).
 */
import { FailureError, throwIfCancelled } from '../errors';
import type { JobOptions } from '../job';
import { type LlamaTools, runLlamaTool } from '../llamacpp';
import { readGgufHeader } from '../formats/gguf';
import { preflightGguf } from '../formats/gguf-preflight';
import { type GpuChoice, type Llama, deviceName, getLlamaInstance, setLlamaLog } from './node-llama';

type Token = ReturnType<Awaited<ReturnType<Llama['loadModel']>>['tokenize']>[number];

export interface Speed {
  /** Prompt processing, tokens per second. */
  pp: number;
  /** Generation, tokens per second. */
  tg: number;
}

export interface BenchOptions extends JobOptions {
  threads: number;
  promptTokens?: number;
  genTokens?: number;
  /** Repetitions per round (llama-bench -r); each round reports the mean. */
  reps?: number;
  rounds?: number;
  /** llama-bench's -ub; node-llama-cpp's batchSize. */
  ubatch?: number;
  gpu?: GpuChoice;
  tools?: LlamaTools;
}

export interface BenchRound {
  pajamas: Speed;
  llamaBench: Speed;
}

export interface BenchReport {
  file: string;
  threads: number;
  promptTokens: number;
  genTokens: number;
  reps: number;
  pajamas: Speed;
  llamaBench: Speed;
  /** pajamas / llamaBench: 1.00 = as fast as llama.cpp. */
  ratio: Speed;
  rounds: BenchRound[];
  pajamasDevice: string;
  llamaBenchBackends: string;
}

export const BENCH_DEFAULTS = { promptTokens: 512, genTokens: 128, reps: 5, rounds: 1, ubatch: 512 } as const;

interface LlamaBenchRow {
  n_prompt: number;
  n_gen: number;
  avg_ts: number;
  backends?: string;
}

export async function runLlamaBench(file: string, opts: BenchOptions): Promise<{ speed: Speed; backends: string }> {
  await preflightGguf(file, { signal: opts.signal });
  const p = opts.promptTokens ?? BENCH_DEFAULTS.promptTokens;
  const n = opts.genTokens ?? BENCH_DEFAULTS.genTokens;
  const args = ['-m', file, '-t', String(opts.threads), '-p', String(p), '-n', String(n), '-r', String(opts.reps ?? BENCH_DEFAULTS.reps)];
  args.push('-ub', String(opts.ubatch ?? BENCH_DEFAULTS.ubatch), '-fa', 'auto', '-o', 'json');
  const result = await runLlamaTool('llama-bench', args, { tools: opts.tools, signal: opts.signal, log: opts.log });
  let rows: LlamaBenchRow[];
  try {
    rows = JSON.parse(result.stdout) as LlamaBenchRow[];
  } catch {
    throw new FailureError(`llama-bench printed no JSON: ${result.stdout.slice(0, 300)}`);
  }
  const pp = rows.find((r) => r.n_prompt === p && r.n_gen === 0);
  const tg = rows.find((r) => r.n_prompt === 0 && r.n_gen === n);
  if (!pp || !tg) throw new FailureError(`llama-bench's JSON lacks the pp${p} or tg${n} row`);
  return { speed: { pp: pp.avg_ts, tg: tg.avg_ts }, backends: pp.backends ?? 'unknown' };
}

/** Same measurement through node-llama-cpp: mean tokens/s over `reps` after one warm-up. */
export async function runNodeLlamaBench(file: string, opts: BenchOptions): Promise<{ speed: Speed; device: string }> {
  await preflightGguf(file, { signal: opts.signal });
  setLlamaLog(opts.log);
  const p = opts.promptTokens ?? BENCH_DEFAULTS.promptTokens;
  const n = opts.genTokens ?? BENCH_DEFAULTS.genTokens;
  const reps = opts.reps ?? BENCH_DEFAULTS.reps;
  const llama = await getLlamaInstance(opts.gpu ?? 'auto');
  const model = await llama.loadModel({ modelPath: file, gpuLayers: llama.gpu === false ? 0 : 'max', useMmap: true });
  try {
    const context = await model.createContext({
      contextSize: p + n,
      batchSize: Math.min(opts.ubatch ?? BENCH_DEFAULTS.ubatch, p),
      threads: opts.threads,
      flashAttention: 'auto',
      sequences: 1,
    });
    try {
      const sequence = context.getSequence();
      const random = randomTokens(await vocabularySize(file));
      const bos = model.tokens.shouldPrependBosToken && model.tokens.bos !== null ? model.tokens.bos : null;
      const prompt = () => (bos === null ? random(p) : [bos, ...random(p - 1)]);
      const timePp = async () => {
        await sequence.clearHistory();
        const t0 = process.hrtime.bigint();
        await sequence.evaluateWithoutGeneratingNewTokens(prompt());
        return seconds(t0);
      };
      const timeTg = async () => {
        await sequence.clearHistory();
        const t0 = process.hrtime.bigint();
        let count = 0;
        for await (const _token of sequence.evaluate([bos ?? random(1)[0]!], { temperature: 0 })) {
          if (++count >= n) break;
        }
        return seconds(t0);
      };
      await timePp(); // warm-up, as llama-bench does
      let ppRate = 0;
      for (let r = 0; r < reps; r++) {
        throwIfCancelled(opts.signal);
        ppRate += p / (await timePp()) / reps;
      }
      await timeTg();
      let tgRate = 0;
      for (let r = 0; r < reps; r++) {
        throwIfCancelled(opts.signal);
        tgRate += n / (await timeTg()) / reps;
      }
      return { speed: { pp: ppRate, tg: tgRate }, device: deviceName(llama) };
    } finally {
      await context.dispose();
    }
  } finally {
    await model.dispose();
  }
}

/** Both, alternating for `rounds` rounds; the best round of each side, and their ratio. */
export async function benchRuntime(file: string, opts: BenchOptions): Promise<BenchReport> {
  await preflightGguf(file, { signal: opts.signal });
  const rounds: BenchRound[] = [];
  let device = 'unknown';
  let backends = 'unknown';
  const total = opts.rounds ?? BENCH_DEFAULTS.rounds;
  const progress = (done: number, message?: string) => opts.onProgress?.({ step: 'bench', done, total: total * 2, unit: 'steps', message });
  const native = async (i: number) => {
    const r = await runLlamaBench(file, opts);
    opts.log?.(`round ${i + 1}: llama-bench pp ${r.speed.pp.toFixed(2)} tg ${r.speed.tg.toFixed(2)} t/s`);
    backends = r.backends;
    return r.speed;
  };
  const ours = async (i: number) => {
    const r = await runNodeLlamaBench(file, opts);
    opts.log?.(`round ${i + 1}: node-llama-cpp pp ${r.speed.pp.toFixed(2)} tg ${r.speed.tg.toFixed(2)} t/s`);
    device = r.device;
    return r.speed;
  };
  for (let i = 0; i < total; i++) {
    // ABBA order: a machine that gets busier or quieter over the run favours neither side.
    progress(i * 2);
    if (i % 2 === 0) {
      const llamaBench = await native(i);
      progress(i * 2 + 1);
      rounds.push({ llamaBench, pajamas: await ours(i) });
    } else {
      const pajamas = await ours(i);
      progress(i * 2 + 1);
      rounds.push({ pajamas, llamaBench: await native(i) });
    }
  }
  opts.onProgress?.({ step: 'bench', done: total * 2, total: total * 2, unit: 'steps' });
  const best = (pick: (r: BenchRound) => Speed): Speed => ({
    pp: Math.max(...rounds.map((r) => pick(r).pp)),
    tg: Math.max(...rounds.map((r) => pick(r).tg)),
  });
  const pajamas = best((r) => r.pajamas);
  const llamaBench = best((r) => r.llamaBench);
  return {
    file,
    threads: opts.threads,
    promptTokens: opts.promptTokens ?? BENCH_DEFAULTS.promptTokens,
    genTokens: opts.genTokens ?? BENCH_DEFAULTS.genTokens,
    reps: opts.reps ?? BENCH_DEFAULTS.reps,
    pajamas,
    llamaBench,
    ratio: { pp: pajamas.pp / llamaBench.pp, tg: pajamas.tg / llamaBench.tg },
    rounds,
    pajamasDevice: device,
    llamaBenchBackends: backends,
  };
}

async function vocabularySize(file: string): Promise<number> {
  const tokens = (await readGgufHeader(file)).metadata.get('tokenizer.ggml.tokens')?.value;
  if (!Array.isArray(tokens) || !tokens.length)
    throw new FailureError(`${file} has no tokenizer.ggml.tokens; the benchmark needs a vocabulary`);
  return tokens.length;
}

function seconds(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** llama-bench draws with std::rand() % n_vocab; any uniform draw does for speed. */
function randomTokens(vocab: number): (count: number) => Token[] {
  let s = 0x12345678;
  const next = () => (((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8) % vocab) as Token;
  return (count) => Array.from({ length: count }, next);
}
