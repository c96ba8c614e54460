/**
 * `pajamas eval <manifest.json|file.gguf>`: perplexity, KL divergence and top-1 agreement of each
 * artifact against the F16 baseline, the regression gate (exit code 5), results written into the
 * manifest. `--json` prints one document: {"baseline", "artifacts": [{"path", "ppl", "kldMean",
 * "kldP99", "top1", "gate", ...}], ...}.
 */
import { QualityGateError } from '../../core/errors';
import { DEFAULT_EVAL_CTX, type EvaluationReport, evaluate } from '../../core/quality/evaluate';
import { DEFAULT_GATE_THRESHOLD_PCT } from '../../core/quality/gate';
import { evaluationJson } from '../../core/quality/report';
import { formatEvaluation } from '../evaluation-table';
import { onePositional, parseArgs } from '../args';
import type { Command } from '../command';
import type { CliIo } from '../io';

const options = {
  baseline: {
    option: 'baseline',
    type: 'string',
    value: '<f16.gguf>',
    description: "F16 GGUF to compare against (default: the manifest's baseline)",
  },
  text: {
    option: 'evalText',
    type: 'string',
    value: '<file>',
    description: "evaluation text (default: the project's own data/eval-default.txt)",
  },
  ctx: { option: 'contextSize', type: 'number', value: '<N>', description: 'context size (tokens per chunk)', default: DEFAULT_EVAL_CTX },
  chunks: { option: 'maxChunks', type: 'number', value: '<N>', description: 'evaluate only the first N chunks of the text' },
  'gate-threshold': {
    option: 'gateThresholdPct',
    type: 'number',
    value: '<P>',
    description: 'fail an artifact whose perplexity is more than P% above the baseline',
    default: DEFAULT_GATE_THRESHOLD_PCT,
  },
  gate: {
    option: 'gate',
    type: 'boolean',
    description: 'exit with code 5 when an artifact fails the gate (--no-gate: report only)',
    default: true,
  },
  json: {
    type: 'boolean',
    description: 'print one JSON document: {"baseline", "artifacts": [{"path", "ppl", "kldMean", "kldP99", "top1", "gate"}]}',
  },
} as const;

export const evalCommand: Command = {
  name: 'eval',
  summary: 'Measure perplexity, KL divergence and top-1 agreement against F16; gate on perplexity',
  usage:
    '<manifest.json|folder|file.gguf> [--baseline <f16.gguf>] [--text <file>] [--ctx N] [--chunks N] [--gate-threshold P] [--no-gate] ' +
    '[--json]',
  options,
  async run(argv: string[], io: CliIo): Promise<number> {
    const { options: o, positionals } = parseArgs(argv, options);
    const print = (report: EvaluationReport) => (o.json ? io.json(evaluationJson(report)) : io.out(formatEvaluation(report)));
    let report: EvaluationReport;
    try {
      report = await evaluate(
        onePositional(positionals, '<manifest.json|file.gguf>'),
        { baseline: o.baseline, text: o.text, ctx: o.ctx, maxChunks: o.chunks, gateThresholdPct: o['gate-threshold'], gate: o.gate },
        io.job(),
      );
    } catch (error) {
      // The gate failed after measuring everything: show the numbers, then exit with code 5.
      if (error instanceof QualityGateError && error.data.report) print(error.data.report as EvaluationReport);
      throw error;
    }
    print(report);
    if (report.manifestPath && !o.json) io.log(`results recorded in ${report.manifestPath}`);
    return 0;
  },
};
