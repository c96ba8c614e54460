/**
 * `pajamas compare <model>`: naive vs pajamas, without and with an importance matrix, at one
 * target, against the same F16 baseline: one table, one chart next to the manifest.
 */
import { compareStrategies, type CompareRow } from '../../core/pipeline/compare';
import { formatTable } from '../evaluation-table';
import { formatBytes } from '../../core/units';
import { onePositional, parseArgs } from '../args';
import { PLAN_TARGETS } from '../../core/plan/types';
import type { Command } from '../command';
import type { CliIo } from '../io';
import { parseTarget } from './plan';

const options = {
  target: { option: 'targets', type: 'string', value: '<type>', default: 'Q4_K_M', description: `GGUF target: ${PLAN_TARGETS.join(', ')}` },
  out: { option: 'outDir', type: 'string', short: 'o', value: '<dir>', description: 'output folder (default ./<model>-pajamas)' },
  text: { option: 'evalText', type: 'string', value: '<file>', description: "evaluation text (default: the project's own)" },
  ctx: { option: 'contextSize', type: 'number', value: '<n>', description: 'evaluation context size (default 512)' },
  calibration: { type: 'string', value: '<file>', description: "calibration text for the importance matrix (default: the project's own)" },
  'keep-intermediate': { option: 'keepIntermediate', type: 'boolean', description: 'keep the F16 intermediate GGUF' },
  json: { type: 'boolean', description: 'print one JSON document: {"rows": [...]}' },
} as const;

export const compareCommand: Command = {
  name: 'compare',
  summary: 'Compare the naive and pajamas plans (without and with an imatrix) on KL divergence against F16',
  usage: '<model> [--target Q4_K_M] [--text <file>] [--ctx N] [--json]',
  options,
  async run(argv: string[], io: CliIo): Promise<number> {
    const { options: o, positionals } = parseArgs(argv, options);
    const result = await compareStrategies(
      {
        model: onePositional(positionals, '<model>'),
        target: parseTarget(o.target!),
        outDir: o.out,
        textFile: o.text,
        contextSize: o.ctx,
        calibrationFile: o.calibration,
        keepIntermediate: o['keep-intermediate'],
      },
      io.job(),
    );
    if (o.json) {
      io.json({ manifest: result.manifestPath, chart: result.chartPath, baselinePpl: result.baselinePpl, rows: result.rows });
      return 0;
    }
    io.out(formatCompareTable(result.rows, result.baselinePpl));
    io.out(`\nchart: ${result.chartPath}\nmanifest: ${result.manifestPath}`);
    return 0;
  },
};

export function formatCompareTable(rows: readonly CompareRow[], baselinePpl: number): string {
  const header = ['strategy', 'imatrix', 'size', 'bpw', 'PPL', 'mean KLD', 'p99 KLD', 'top-1', 'KLD vs naive'];
  const body = rows.map((r) => [
    r.stockCheck?.kept === 'stock' ? `${r.strategy} (stock kept)` : r.strategy,
    r.imatrix ? 'yes' : 'no',
    formatBytes(r.sizeBytes),
    r.bpw.toFixed(2),
    r.ppl.toFixed(4),
    r.kldMean.toFixed(6),
    r.kldP99.toFixed(6),
    `${(r.top1 * 100).toFixed(2)}%`,
    r.strategy === 'naive' && !r.imatrix ? 'reference' : `${r.kldChangePct >= 0 ? '+' : ''}${r.kldChangePct.toFixed(1)}%`,
  ]);
  const table = formatTable(header, body, new Set(['size', 'bpw', 'PPL', 'mean KLD', 'p99 KLD', 'top-1', 'KLD vs naive']));
  const checks = rows.filter((r) => r.stockCheck).map((r) => `${r.id}: ${r.stockCheck!.reason}`);
  const checked = checks.length ? `\n\nchecked against stock on calibration text:\n${checks.join('\n')}` : '';
  return `F16 baseline PPL: ${baselinePpl.toFixed(4)}\n${table}${checked}`;
}
