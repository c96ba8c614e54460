/**
 * Speed of the runtime against llama.cpp itself, on the same GGUF with the same threads: prompt
 * processing (pp: one batch of `promptTokens` random tokens) and generation (tg: `genTokens`
 * tokens one at a time), in tokens per second, through the path `run` and `chat` use (a model
 * host, its generation loop, the text streamed back to this process in batches) and through the
 * natively built `llama-bench`. The pajamas side mirrors llama-bench's method (tools/llama-bench):
 * a warm-up run, a fresh KV cache per repetition, BOS first, micro-batch = llama-bench's ubatch
 * (node-llama-cpp uses its batch size as the micro-batch), flash attention on "auto"; it is timed
 * here, around each request, so the process boundary is part of the measurement.
 * Rounds alternate the two in ABBA order so a noisy neighbour slows both alike; each side reports
 * its best round (the one least disturbed).
 */
import { FailureError, throwIfCancelled } from '../errors';
import { readGgufHeader } from '../formats/gguf';
import { preflightGguf } from '../formats/gguf-preflight';
import type { JobOptions } from '../job';
import { type LlamaTools, runLlamaTool } from '../llamacpp';
import { ModelHost } from './model-host/client';
import type { BenchRequest, DeviceInfo } from './model-host/protocol';
import type { GpuChoice } from './node-llama';

export interface Speed {
  /** Prompt processing, tokens per second. */
  pp: number;
  /** Generation, tokens per second. */
  tg: number;
}

export interface BenchOptions extends JobOptions {
  /** CPU threads for both sides; default: llama.cpp's count of math cores, as the model host reports it. */
  threads?: number;
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
  /** Time per generated token spent outside the host's generation loop (the process boundary), microseconds. */
  ipcUsPerToken: number;
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
  /** What a generated token costs on top of llama-bench's, in microseconds (best rounds). */
  overheadUsPerToken: number;
  rounds: BenchRound[];
  device: DeviceInfo;
  llamaBenchBackends: string;
  /** Reasons the two sides may not be comparable (e.g. the runtime on a GPU, llama-bench on the CPU). */
  warnings: string[];
}

export const BENCH_DEFAULTS = { promptTokens: 512, genTokens: 128, reps: 5, rounds: 1, ubatch: 512 } as const;

interface LlamaBenchRow {
  n_prompt: number;
  n_gen: number;
  avg_ts: number;
  backends?: string;
}

export async function runLlamaBench(file: string, threads: number, opts: BenchOptions): Promise<{ speed: Speed; backends: string }> {
  await preflightGguf(file, { signal: opts.signal });
  const p = opts.promptTokens ?? BENCH_DEFAULTS.promptTokens;
  const n = opts.genTokens ?? BENCH_DEFAULTS.genTokens;
  const args = ['-m', file, '-t', String(threads), '-p', String(p), '-n', String(n), '-r', String(opts.reps ?? BENCH_DEFAULTS.reps)];
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

/** One round of the pajamas side in a host that has the model loaded: a warm-up and `reps` timed runs of each. */
async function hostRound(
  host: ModelHost,
  file: string,
  request: BenchRequest & { genTokens: number },
  signal: AbortSignal | undefined,
): Promise<{ speed: Speed; ipcUsPerToken: number }> {
  // The signal goes with each request: a cancel stops the host's loop, not only the next round.
  const what = { what: `benchmarking ${file}`, signal };
  const time = async <T>(fn: () => Promise<T>) => {
    const t0 = process.hrtime.bigint();
    const value = await fn();
    return { value, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
  };
  const pp = { ...request, reps: 1 };
  await host.request({ type: 'bench-pp', ...pp }, what);
  const ppRun = await time(() => host.request({ type: 'bench-pp', ...pp, reps: request.reps }, what));
  const tg = { tokens: request.genTokens, reps: 1, vocabSize: request.vocabSize };
  // Text comes back as `run` and `chat` receive it; the benchmark only counts on it arriving.
  let received = 0;
  const onText = (text: string) => (received += text.length);
  await host.request({ type: 'bench-tg', ...tg }, { ...what, onText });
  const tgRun = await time(() => host.request({ type: 'bench-tg', ...tg, reps: request.reps }, { ...what, onText }));
  const genTokens = request.genTokens * request.reps;
  const inHost = tgRun.value.seconds.reduce((a, b) => a + b, 0);
  return {
    speed: { pp: (request.tokens * request.reps) / ppRun.seconds, tg: genTokens / tgRun.seconds },
    ipcUsPerToken: ((tgRun.seconds - inHost) / genTokens) * 1e6,
  };
}

/** Both, alternating for `rounds` rounds; the best round of each side, and their ratio. */
export async function benchRuntime(file: string, opts: BenchOptions): Promise<BenchReport> {
  // The model host survives llama.cpp's aborts, but a malformed file deserves its own message.
  await preflightGguf(file, { signal: opts.signal });
  const p = opts.promptTokens ?? BENCH_DEFAULTS.promptTokens;
  const n = opts.genTokens ?? BENCH_DEFAULTS.genTokens;
  const reps = opts.reps ?? BENCH_DEFAULTS.reps;
  const total = opts.rounds ?? BENCH_DEFAULTS.rounds;
  const vocabSize = await vocabularySize(file);
  const host = await ModelHost.start({ gpu: opts.gpu, log: opts.log, signal: opts.signal });
  try {
    const threads = opts.threads ?? host.device.cpuMathCores;
    // GGUF PRE-FLIGHT (issue 16): the same check as openSession's goes here, before the host loads the file.
    await host.request(
      {
        type: 'load',
        modelPath: file,
        contextSize: p + n,
        placement: host.device.device === 'cpu' ? 'cpu' : 'gpu',
        threads,
        batchSize: Math.min(opts.ubatch ?? BENCH_DEFAULTS.ubatch, p),
        flashAttention: 'auto',
      },
      { what: `loading ${file}`, loading: file, signal: opts.signal },
    );
    const rounds: BenchRound[] = [];
    let backends = 'unknown';
    const progress = (done: number) => opts.onProgress?.({ step: 'bench', done, total: total * 2, unit: 'steps' });
    const native = async (i: number) => {
      const r = await runLlamaBench(file, threads, opts);
      opts.log?.(`round ${i + 1}: llama-bench pp ${r.speed.pp.toFixed(2)} tg ${r.speed.tg.toFixed(2)} t/s`);
      backends = r.backends;
      return r.speed;
    };
    const ours = async (i: number) => {
      throwIfCancelled(opts.signal);
      const r = await hostRound(host, file, { tokens: p, genTokens: n, reps, vocabSize }, opts.signal);
      opts.log?.(`round ${i + 1}: pajamas pp ${r.speed.pp.toFixed(2)} tg ${r.speed.tg.toFixed(2)} t/s`);
      return r;
    };
    for (let i = 0; i < total; i++) {
      // ABBA order: a machine that gets busier or quieter over the run favours neither side.
      progress(i * 2);
      if (i % 2 === 0) {
        const llamaBench = await native(i);
        progress(i * 2 + 1);
        const r = await ours(i);
        rounds.push({ llamaBench, pajamas: r.speed, ipcUsPerToken: r.ipcUsPerToken });
      } else {
        const r = await ours(i);
        progress(i * 2 + 1);
        rounds.push({ pajamas: r.speed, ipcUsPerToken: r.ipcUsPerToken, llamaBench: await native(i) });
      }
    }
    progress(total * 2);
    return report(file, { threads, p, n, reps }, rounds, host.device, backends);
  } finally {
    await host.close();
  }
}

function report(
  file: string,
  run: { threads: number; p: number; n: number; reps: number },
  rounds: BenchRound[],
  device: DeviceInfo,
  backends: string,
): BenchReport {
  const best = (pick: (r: BenchRound) => Speed): Speed => ({
    pp: Math.max(...rounds.map((r) => pick(r).pp)),
    tg: Math.max(...rounds.map((r) => pick(r).tg)),
  });
  const pajamas = best((r) => r.pajamas);
  const llamaBench = best((r) => r.llamaBench);
  const warnings: string[] = [];
  const onGpu = device.device !== 'cpu';
  if (onGpu && /^cpu$/i.test(backends.trim()))
    warnings.push(`the runtime ran on ${device.device} but llama-bench on the CPU: build the llama.cpp tools with GPU support to compare`);
  if (!onGpu && backends !== 'unknown' && !/cpu/i.test(backends))
    warnings.push(`llama-bench ran on ${backends} but the runtime on the CPU`);
  return {
    file,
    threads: run.threads,
    promptTokens: run.p,
    genTokens: run.n,
    reps: run.reps,
    pajamas,
    llamaBench,
    ratio: { pp: pajamas.pp / llamaBench.pp, tg: pajamas.tg / llamaBench.tg },
    overheadUsPerToken: 1e6 / pajamas.tg - 1e6 / llamaBench.tg,
    rounds,
    device,
    llamaBenchBackends: backends,
    warnings,
  };
}

async function vocabularySize(file: string): Promise<number> {
  const tokens = (await readGgufHeader(file)).metadata.get('tokenizer.ggml.tokens')?.value;
  if (!Array.isArray(tokens) || !tokens.length)
    throw new FailureError(`${file} has no tokenizer.ggml.tokens; the benchmark needs a vocabulary`);
  return tokens.length;
}
