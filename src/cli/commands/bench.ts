/**
 * `pajamas bench <manifest|gguf>`: prompt-processing and generation speed through node-llama-cpp
 * and through llama.cpp's natively built llama-bench, on the same file with the same threads in
 * the same run, and the ratio. For a manifest the GGUF artifact that `run` would pick is measured
 * (or --artifact). `scripts/bench/runtime.mjs` runs this on a generated ~1B Llama-shaped model.
 */
import { UsageError } from '../../core/errors';
import { ensureLlamaTools } from '../../core/llamacpp';
import { BENCH_DEFAULTS, benchRuntime } from '../../core/runtime/bench';
import { getLlamaInstance, type GpuChoice } from '../../core/runtime/node-llama';
import { planSession } from '../../core/runtime/session';
import { checkArtifactFiles } from '../../core/runtime/target';
import { formatBytes } from '../../core/units';
import { onePositional, parseArgs } from '../args';
import type { Command } from '../command';
import type { CliIo } from '../io';
import { positiveInt } from './run';

const options = {
  threads: {
    type: 'number',
    short: 't',
    value: '<n>',
    description: 'CPU threads for both (default: the physical cores, as llama.cpp counts them)',
  },
  'n-prompt': { type: 'number', short: 'p', value: '<n>', description: `prompt tokens for pp (default ${BENCH_DEFAULTS.promptTokens})` },
  'n-gen': { type: 'number', short: 'n', value: '<n>', description: `generated tokens for tg (default ${BENCH_DEFAULTS.genTokens})` },
  reps: { type: 'number', short: 'r', value: '<n>', description: `repetitions per round (default ${BENCH_DEFAULTS.reps})` },
  rounds: {
    type: 'number',
    value: '<n>',
    description: `alternating rounds; the best of each side counts (default ${BENCH_DEFAULTS.rounds})`,
  },
  ubatch: { type: 'number', value: '<n>', description: `micro-batch for both (default ${BENCH_DEFAULTS.ubatch})` },
  artifact: { type: 'string', value: '<id>', description: 'the manifest artifact to measure' },
  gpu: {
    type: 'string',
    value: 'auto|cuda|vulkan|metal|cpu',
    default: 'auto',
    description: "node-llama-cpp's GPU choice (llama-bench uses what it was built with)",
  },
  json: { type: 'boolean', description: 'print one JSON document: {"pajamas":{"pp","tg"},"llamaBench":{"pp","tg"},"ratio":{"pp","tg"}}' },
} as const;

const GPUS: readonly GpuChoice[] = ['auto', 'cuda', 'vulkan', 'metal', 'cpu'];

export const benchCommand: Command = {
  name: 'bench',
  runsModels: true,
  summary: "Tokens per second through node-llama-cpp vs. llama.cpp's llama-bench on the same GGUF",
  usage: '<manifest|folder|model.gguf> [--threads N] [--json] ...',
  options,
  async run(argv: string[], io: CliIo): Promise<number> {
    const { options: o, positionals } = parseArgs(argv, options);
    const gpu = GPUS.find((g) => g === o.gpu);
    if (!gpu) throw new UsageError(`--gpu takes ${GPUS.join(', ')}; got "${o.gpu}"`);
    const job = io.job();
    const plan = await planSession(onePositional(positionals, '<manifest|folder|file.gguf>'), {
      ...job,
      backend: 'gguf',
      artifact: o.artifact,
      gpu,
    });
    const artifact = plan.choice.chosen?.artifact;
    if (!artifact) throw new UsageError(`nothing to measure: ${plan.choice.explanation}`);
    await checkArtifactFiles(plan.target, artifact, { ...job, verify: 'size' });
    const tools = await ensureLlamaTools(job);
    const threads = positiveInt('threads', o.threads) ?? (await getLlamaInstance(gpu)).cpuMathCores;
    io.log(`${artifact.id} (${formatBytes(artifact.sizeBytes)}), ${threads} thread(s)`);
    const report = await benchRuntime(artifact.path, {
      ...job,
      tools,
      threads,
      gpu,
      promptTokens: positiveInt('n-prompt', o['n-prompt']),
      genTokens: positiveInt('n-gen', o['n-gen']),
      reps: positiveInt('reps', o.reps),
      rounds: positiveInt('rounds', o.rounds),
      ubatch: positiveInt('ubatch', o.ubatch),
    });
    if (o.json) {
      io.json({ pajamas: report.pajamas, llamaBench: report.llamaBench, ratio: report.ratio });
      return 0;
    }
    const pp = `pp${report.promptTokens} t/s`;
    const tg = `tg${report.genTokens} t/s`;
    const row = (name: string, a: string, b: string) => `${name.padEnd(28)}${a.padStart(14)}${b.padStart(14)}`;
    io.out(row('', pp, tg));
    io.out(row(`node-llama-cpp (${report.pajamasDevice})`, report.pajamas.pp.toFixed(2), report.pajamas.tg.toFixed(2)));
    io.out(row(`llama-bench (${report.llamaBenchBackends})`, report.llamaBench.pp.toFixed(2), report.llamaBench.tg.toFixed(2)));
    io.out(row('ratio', report.ratio.pp.toFixed(3), report.ratio.tg.toFixed(3)));
    io.out(`${report.threads} thread(s), ${report.reps} repetition(s) x ${report.rounds.length} round(s), best round each`);
    return 0;
  },
};
