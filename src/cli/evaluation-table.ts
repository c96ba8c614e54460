/**
 * The text tables of `pajamas eval` and `pajamas compare`: aligned columns, numbers right-aligned,
 * and the notes under the evaluation table (which name the CLI's own options).
 */
import type { EvaluationReport } from '../core/quality/evaluate';
import { formatBytes } from '../core/units';

const COLUMNS = ['artifact', 'size', 'bpw', 'PPL', 'PPL ratio', 'mean KLD', 'p99 KLD', 'top-1', 'gate'] as const;
const NUMERIC = new Set<string>(['size', 'bpw', 'PPL', 'PPL ratio', 'mean KLD', 'p99 KLD', 'top-1']);

export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  numeric: ReadonlySet<string> = new Set(),
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (numeric.has(header[i]!) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const dash = '-';
const fixed = (v: number | null, digits: number) => (v === null ? dash : v.toFixed(digits));

export function formatEvaluation(report: EvaluationReport): string {
  const rows: string[][] = [];
  if (report.baseline) {
    rows.push(['F16 baseline', dash, dash, report.baseline.ppl.toFixed(4), '1.0000', dash, dash, dash, dash]);
  }
  for (const a of report.artifacts) {
    const q = a.quality;
    const gate = q.gate === null ? dash : q.gate.passed ? 'pass' : report.gate.enforced ? 'FAIL' : 'fail (not enforced)';
    rows.push([
      a.id,
      formatBytes(a.sizeBytes),
      fixed(a.bpw, 2),
      q.ppl.toFixed(4),
      fixed(q.pplRatio, 4),
      fixed(q.kldMean, 6),
      fixed(q.kldP99, 6),
      q.top1 === null ? dash : `${(q.top1 * 100).toFixed(2)}%`,
      gate,
    ]);
  }
  const notes = [
    `text: ${report.text.name} (sha256 ${report.text.sha256.slice(0, 12)}), context ${report.ctx}, ${report.chunks} of ` +
      `${report.availableChunks} chunk(s)`,
  ];
  if (report.capReason) notes.push(`note: ${report.capReason}`);
  if (!report.baseline) notes.push('no F16 baseline: KL divergence, top-1 and the gate need one (--baseline <f16.gguf>)');
  else
    notes.push(
      `gate: PPL at most ${report.gate.thresholdPct}% above the baseline${report.gate.enforced ? '' : ' (report only: --no-gate)'}`,
    );
  return `${formatTable(COLUMNS, rows, NUMERIC)}\n\n${notes.join('\n')}`;
}
