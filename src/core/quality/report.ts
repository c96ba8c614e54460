/**
 * An evaluation as the JSON document of `pajamas eval --json` (and of the worker's answer):
 * `{"baseline": null | {"path", "ppl"}, "artifacts": [{"path", "ppl", "kldMean", "kldP99", "top1",
 * "gate"}]}`, with more fields beside those (the contract allows extras, never fewer). The text
 * table is the CLI's (src/cli/evaluation-table.ts).
 */
import type { ArtifactSummary } from '../manifest/types';
import type { EvaluationReport } from './evaluate';

export interface EvaluationJson {
  baseline: { path: string; ppl: number; rebuilt: boolean } | null;
  text: { name: string; sha256: string; path: string };
  ctx: number;
  chunks: number;
  availableChunks: number;
  capReason: string | null;
  artifacts: (ArtifactSummary & {
    ppl: number;
    pplRatio: number | null;
    kldMean: number | null;
    kldP99: number | null;
    top1: number | null;
    gate: { thresholdPct: number; passed: boolean } | null;
  })[];
  gate: { enforced: boolean; thresholdPct: number; failed: string[] };
}

export function evaluationJson(report: EvaluationReport): EvaluationJson {
  return {
    baseline: report.baseline ? { path: report.baseline.path, ppl: report.baseline.ppl, rebuilt: report.baseline.rebuilt } : null,
    text: { ...report.text, path: report.textPath },
    ctx: report.ctx,
    chunks: report.chunks,
    availableChunks: report.availableChunks,
    capReason: report.capReason,
    artifacts: report.artifacts.map((a) => ({
      id: a.id,
      path: a.path,
      format: a.format,
      strategy: a.strategy,
      imatrix: a.imatrix,
      target: a.target,
      sizeBytes: a.sizeBytes,
      bpw: a.bpw,
      ppl: a.quality.ppl,
      pplRatio: a.quality.pplRatio,
      kldMean: a.quality.kldMean,
      kldP99: a.quality.kldP99,
      top1: a.quality.top1,
      gate: a.quality.gate,
    })),
    gate: report.gate,
  };
}
