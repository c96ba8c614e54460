/**
 * `pajamas quantize <model>`: the whole pipeline, ending in manifest.json (which `--json` prints).
 */
import { UsageError } from '../../core/errors';
import { DEFAULT_EVAL_CTX } from '../../core/quality/evaluate';
import { DEFAULT_GATE_THRESHOLD_PCT } from '../../core/quality/gate';
import { quantizeModel } from '../../core/pipeline/quantize';
import { OUTPUT_FORMATS, parseImatrixMode, type OutputFormat } from '../../core/pipeline/options';
import { formatBytes } from '../../core/units';
import { onePositional, parseArgs } from '../args';
import { PLAN_TARGETS } from '../../core/plan/types';
import type { Command } from '../command';
import type { CliIo } from '../io';
import { parseStrategy, parseTarget } from './plan';

const options = {
  out: { option: 'outDir', type: 'string', short: 'o', value: '<dir>', description: 'output folder (default ./<model>-pajamas)' },
  formats: {
    option: 'formats',
    type: 'string',
    value: '<list>',
    description: 'comma-separated: gguf, mlx (default both; mlx is left out where it does not apply)',
  },
  targets: {
    option: 'targets',
    type: 'string',
    value: '<list>',
    default: 'Q4_K_M',
    description: `comma-separated GGUF targets: ${PLAN_TARGETS.join(', ')}`,
  },
  strategy: {
    option: 'strategies',
    type: 'string',
    value: '<list>',
    default: 'pajamas',
    description: 'pajamas, naive, or both (comma-separated)',
  },
  imatrix: {
    option: 'imatrix',
    type: 'string',
    value: 'auto|off|<file>',
    default: 'auto',
    description: 'importance matrix: computed on calibration text, none, or a file',
  },
  calibration: { type: 'string', value: '<file>', description: "calibration text for --imatrix auto (default: the project's own)" },
  'mlx-bits': { option: 'mlxBits', type: 'number', value: '<n>', description: 'MLX body bits (default 4)' },
  'mlx-group-size': { option: 'mlxGroupSize', type: 'number', value: '<n>', description: 'MLX group size (default 64)' },
  'eval-text': { option: 'evalText', type: 'string', value: '<file>', description: "evaluation text (default: the project's own)" },
  eval: { type: 'boolean', default: true, description: 'evaluate perplexity and KL divergence against F16 (--no-eval to skip)' },
  ctx: { option: 'contextSize', type: 'number', value: '<n>', description: `evaluation context size (default ${DEFAULT_EVAL_CTX})` },
  gate: {
    option: 'gate',
    type: 'boolean',
    default: true,
    description: 'fail (exit 5) when perplexity rises more than the threshold (--no-gate to report only)',
  },
  'gate-threshold': {
    option: 'gateThresholdPct',
    type: 'number',
    value: '<pct>',
    description: `allowed perplexity rise over F16 in percent (default ${DEFAULT_GATE_THRESHOLD_PCT})`,
  },
  'keep-intermediate': { option: 'keepIntermediate', type: 'boolean', description: 'keep the F16 intermediate GGUF' },
  'stock-check': {
    option: 'stockCheck',
    type: 'boolean',
    default: true,
    description: "measure each pajamas GGUF against llama.cpp's stock recipe on calibration text; keep stock unless pajamas is better",
  },
  wait: {
    type: 'boolean',
    default: true,
    description: 'wait when another run writes into the output folder (--no-wait: refuse at once)',
  },
  json: { type: 'boolean', description: 'print the manifest as one JSON document' },
} as const;

function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function parseFormats(value: string): OutputFormat[] {
  return list(value).map((f) => {
    const format = OUTPUT_FORMATS.find((x) => x === f.toLowerCase());
    if (!format) throw new UsageError(`unknown format "${f}"; use ${OUTPUT_FORMATS.join(', ')}`);
    return format;
  });
}

export const quantizeCommand: Command = {
  name: 'quantize',
  summary: 'Quantize a model: detect, plan, GGUF (and MLX), evaluate, manifest.json',
  usage:
    '<model> [-o <outdir>] [--formats gguf,mlx] [--targets Q4_K_M,...] [--strategy pajamas|naive] [--imatrix auto|off|<file>] [--json] ...',
  options,
  async run(argv: string[], io: CliIo): Promise<number> {
    const { options: o, positionals } = parseArgs(argv, options);
    const result = await quantizeModel(
      {
        model: onePositional(positionals, '<model>'),
        outDir: o.out,
        formats: o.formats === undefined ? undefined : parseFormats(o.formats),
        targets: list(o.targets!).map(parseTarget),
        strategies: list(o.strategy!).map(parseStrategy),
        imatrix: parseImatrixMode(o.imatrix!),
        calibrationFile: o.calibration,
        mlxBits: o['mlx-bits'],
        mlxGroupSize: o['mlx-group-size'],
        evalTextFile: o['eval-text'],
        evaluate: o.eval,
        contextSize: o.ctx,
        gate: o.gate,
        gateThresholdPct: o['gate-threshold'],
        keepIntermediate: o['keep-intermediate'],
        stockCheck: o['stock-check'],
        waitForOutputFolder: o.wait,
      },
      io.job(),
    );
    if (o.json) {
      io.json(result.manifest);
      return 0;
    }
    for (const a of result.manifest.artifacts) {
      const state = result.built.includes(a.path) ? 'built  ' : result.skipped.includes(a.path) ? 'skipped' : 'kept   ';
      io.out(`${state} ${a.path.padEnd(48)} ${formatBytes(a.sizeBytes).padStart(10)}  ${a.bpw.toFixed(2)} bpw`);
      if (a.format === 'gguf' && a.stockCheck) io.out(`        ${a.stockCheck.reason}`);
    }
    io.out(`manifest: ${result.manifestPath}`);
    return 0;
  },
};
