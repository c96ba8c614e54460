/**
 * The regression gate: an artifact whose perplexity rises more than `thresholdPct` percent over
 * the F16 baseline fails. Without a baseline there is nothing to compare with, so no verdict.
 */
import { OptionError, QualityGateError, type Remedy } from '../errors';

export const DEFAULT_GATE_THRESHOLD_PCT = 5;

/** The gate threshold, checked: a percentage of 0 or more. */
export function checkGateThreshold(pct: number): number {
  if (!Number.isFinite(pct) || pct < 0) throw new OptionError('gateThresholdPct', pct, 'a percentage of 0 or more');
  return pct;
}

/** What to try when artifacts fail the gate: a larger target, an importance matrix, a looser or no gate. */
const GATE_REMEDIES: Remedy[] = [
  { option: 'targets', value: 'Q5_K_M' },
  { option: 'imatrix', value: 'auto' },
  { option: 'gateThresholdPct' },
  { option: 'gate', value: false },
];

export interface GateVerdict {
  thresholdPct: number;
  passed: boolean;
}

export function gateVerdict(pplRatio: number | null, thresholdPct: number): GateVerdict | null {
  if (pplRatio === null) return null;
  return { thresholdPct, passed: pplRatio <= 1 + thresholdPct / 100 };
}

export interface GatedResult {
  id: string;
  ppl: number;
  pplRatio: number | null;
  gate: GateVerdict | null;
}

export function gateFailures<T extends GatedResult>(results: readonly T[]): T[] {
  return results.filter((r) => r.gate !== null && !r.gate.passed);
}

/** The QualityGateError for failed artifacts; `data` carries what the caller needs to report them. */
export function qualityGateError(
  failures: readonly GatedResult[],
  thresholdPct: number,
  data: Record<string, unknown> = {},
): QualityGateError {
  const list = failures.map((f) => `${f.id} (PPL ${f.ppl.toFixed(4)}, +${(((f.pplRatio ?? 1) - 1) * 100).toFixed(2)}%)`).join(', ');
  return new QualityGateError(
    `${failures.length} artifact(s) failed the quality gate: perplexity more than ${thresholdPct}% above the F16 baseline: ${list}. ` +
      'Try a larger target (e.g. Q5_K_M) or an importance matrix, or raise the threshold or turn the gate off to report only',
    { ...data, failed: failures.map((f) => f.id), thresholdPct, remedies: GATE_REMEDIES },
  );
}
