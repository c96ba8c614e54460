/**
 * `pajamas bench <manifest|gguf>`: prompt-processing and generation speed through the runtime (a
 * model host running node-llama-cpp, as `run` and `chat` use it) and through llama.cpp's natively
 * built llama-bench, on the same file with the same threads in the same run, and the ratio. For a
 * manifest the best GGUF artifact is measured (or --artifact). `scripts/bench/runtime.mjs` runs
 * this on a generated ~1.1B Llama-shaped model and on pajama-tiny-gqa.
 */
import { UsageError } from '../../core/errors';
import { ensureLlamaTools } from '../../core/llamacpp';
import { rankByQuality } from '../../core/runtime/artifact-choice';
import { BENCH_DEFAULTS, type BenchReport, benchRuntime } from '../../core/runtime/bench';
import { GPU_CHOICES } from '../../core/runtime/node-llama';
import { type RuntimeArtifact, type RuntimeTarget, checkArtifactFiles, loadRuntimeTarget } from '../../core/runtime/target';
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
    description: "the runtime's GPU choice (llama-bench uses what the tools were built with)",
  },
  json: { type: 'boolean', description: 'print one JSON document: {"pajamas":{"pp","tg"},"llamaBench":{"pp","tg"},"ratio":{"pp","tg"}}' },
} as const;

export const benchCommand: Command = {
  name: 'bench',
  summary: "Tokens per second through the runtime (the path run and chat use) vs. llama.cpp's llama-bench on the same GGUF",
  usage: '<manifest|folder|model.gguf> [--threads N] [--json] ...',
  options,
  async run(argv: string[], io: CliIo): Promise<number> {
    const { options: o, positionals } = parseArgs(argv, options);
    const gpu = GPU_CHOICES.find((g) => g === o.gpu);
    if (!gpu) throw new UsageError(`--gpu takes ${GPU_CHOICES.join(', ')}; got "${o.gpu}"`);
    const job = io.job();
    const target = await loadRuntimeTarget(onePositional(positionals, '<manifest|folder|file.gguf>'), job);
    const artifact = benchArtifact(target, o.artifact);
    await checkArtifactFiles(target, artifact, { ...job, verify: 'size' });
    const tools = await ensureLlamaTools(job);
    io.log(`${artifact.id} (${formatBytes(artifact.sizeBytes)})`);
    const report = await benchRuntime(artifact.path, {
      ...job,
      tools,
      threads: positiveInt('threads', o.threads),
      gpu,
      promptTokens: positiveInt('n-prompt', o['n-prompt']),
      genTokens: positiveInt('n-gen', o['n-gen']),
      reps: positiveInt('reps', o.reps),
      rounds: positiveInt('rounds', o.rounds),
      ubatch: positiveInt('ubatch', o.ubatch),
    });
    for (const w of report.warnings) io.log(`warning: ${w}`);
    if (o.json) {
      io.json(benchJson(report));
      return 0;
    }
    io.out(formatBenchReport(report));
    return 0;
  },
};

/** The artifact to measure: the one named, else the best GGUF artifact (bench measures speed, not fit). */
function benchArtifact(target: RuntimeTarget, id: string | undefined): RuntimeArtifact {
  const ggufs = target.artifacts.filter((a) => a.format === 'gguf');
  if (id !== undefined) {
    const named = target.artifacts.find((a) => a.id === id);
    if (!named) throw new UsageError(`no artifact "${id}" in ${target.path}; it has ${target.artifacts.map((a) => a.id).join(', ')}`);
    if (named.format !== 'gguf') throw new UsageError(`artifact "${id}" is ${named.format}; bench measures GGUF artifacts`);
    return named;
  }
  const best = rankByQuality(ggufs)[0];
  if (!best) throw new UsageError(`nothing to measure: ${target.path} has no GGUF artifact`);
  return best;
}

export function benchJson(report: BenchReport) {
  return {
    pajamas: report.pajamas,
    llamaBench: report.llamaBench,
    ratio: report.ratio,
    overheadUsPerToken: report.overheadUsPerToken,
    threads: report.threads,
    device: report.device.device,
    gpuNames: report.device.gpuNames,
    binding: report.device.binding,
    llamaBenchBackends: report.llamaBenchBackends,
    rounds: report.rounds,
    warnings: report.warnings,
  };
}

export function formatBenchReport(report: BenchReport): string {
  const pp = `pp${report.promptTokens} t/s`;
  const tg = `tg${report.genTokens} t/s`;
  const row = (name: string, a: string, b: string) => `${name.padEnd(30)}${a.padStart(14)}${b.padStart(14)}`;
  const d = report.device;
  const where =
    d.device === 'cpu' ? `cpu, ${d.binding.kind} binding` : `${d.device}${d.gpuNames.length ? `: ${d.gpuNames.join(', ')}` : ''}`;
  const ipc = Math.max(...report.rounds.map((r) => r.ipcUsPerToken));
  return [
    row('', pp, tg),
    row(`pajamas (${where})`, report.pajamas.pp.toFixed(2), report.pajamas.tg.toFixed(2)),
    row(`llama-bench (${report.llamaBenchBackends})`, report.llamaBench.pp.toFixed(2), report.llamaBench.tg.toFixed(2)),
    row('ratio', report.ratio.pp.toFixed(3), report.ratio.tg.toFixed(3)),
    `per generated token: ${report.overheadUsPerToken.toFixed(0)} us more than llama-bench ` +
      `(process boundary: at most ${ipc.toFixed(0)} us)`,
    `${report.threads} thread(s), ${report.reps} repetition(s) x ${report.rounds.length} round(s), best round each`,
  ].join('\n');
}
