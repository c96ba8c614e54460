/**
 * `pajamas compare`: the claim, measured. The same model at one target, quantized with the naive
 * (stock llama.cpp) and the pajamas plan, each without and with an importance matrix, all
 * evaluated against the same F16 baseline on the same text; one table and one chart.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { writeAtomically } from '../fs/atomic';
import type { HubAccess } from '../hf/hub-access';
import type { JobOptions } from '../job';
import type { GgufArtifact, StockCheck } from '../manifest/types';
import type { PlanStrategy, PlanTarget } from '../plan/types';
import { qualityChartSvg } from '../quality';
import { quantizeModel } from './quantize';

export interface CompareRequest {
  model: string;
  hub?: HubAccess;
  target: PlanTarget;
  outDir?: string;
  textFile?: string;
  contextSize?: number;
  calibrationFile?: string;
  keepIntermediate?: boolean;
}

export interface CompareRow {
  id: string;
  strategy: PlanStrategy;
  imatrix: boolean;
  sizeBytes: number;
  bpw: number;
  ppl: number;
  kldMean: number;
  kldP99: number;
  top1: number;
  /** Mean KLD relative to naive without imatrix, in percent (negative: better). */
  kldChangePct: number;
  /** Pajamas rows: the check against stock on calibration text (kept 'stock': the file is the stock recipe's). */
  stockCheck: StockCheck | null;
}

export interface CompareResult {
  manifestPath: string;
  chartPath: string;
  baselinePpl: number;
  rows: CompareRow[];
}

export async function compareStrategies(request: CompareRequest, opts: JobOptions = {}): Promise<CompareResult> {
  const common = {
    model: request.model,
    hub: request.hub,
    outDir: request.outDir,
    formats: ['gguf' as const],
    targets: [request.target],
    strategies: ['naive' as const, 'pajamas' as const],
    calibrationFile: request.calibrationFile,
    // The check against stock runs in both calls: the same context makes their verdicts comparable.
    contextSize: request.contextSize,
  };
  opts.onProgress?.({ step: 'compare', message: 'without an importance matrix' });
  await quantizeModel({ ...common, imatrix: { kind: 'off' }, evaluate: false, keepIntermediate: true }, opts);
  opts.onProgress?.({ step: 'compare', message: 'with an importance matrix, then the evaluation of all four' });
  const { manifestPath, manifest } = await quantizeModel(
    {
      ...common,
      imatrix: { kind: 'auto' },
      evaluate: true,
      gate: false,
      evalTextFile: request.textFile,
      keepIntermediate: request.keepIntermediate,
    },
    opts,
  );
  const rows = compareRows(manifest.artifacts.filter((a): a is GgufArtifact => a.format === 'gguf' && a.target === request.target));
  const chartPath = path.join(path.dirname(manifestPath), `compare-${request.target}.svg`);
  const svg = qualityChartSvg(
    rows.map((r) => ({
      label: `${r.strategy}${r.imatrix ? ' + imatrix' : ''}`,
      sizeBytes: r.sizeBytes,
      kldMean: r.kldMean,
      strategy: r.strategy,
      imatrix: r.imatrix,
    })),
    { title: `${manifest.model}: ${request.target}, mean KLD against F16 by file size` },
  );
  await writeAtomically(chartPath, (tmp) => writeFile(tmp, svg));
  return { manifestPath, chartPath, baselinePpl: manifest.baseline?.quality?.ppl ?? Number.NaN, rows };
}

/** One row per evaluated artifact; the KLD change is relative to naive without an imatrix. */
export function compareRows(artifacts: readonly GgufArtifact[]): CompareRow[] {
  const evaluated = artifacts.filter((a) => a.quality?.kldMean !== null && a.quality?.kldMean !== undefined);
  const reference = evaluated.find((a) => a.strategy === 'naive' && !a.imatrix)?.quality?.kldMean ?? Number.NaN;
  return evaluated
    .map((a): CompareRow => {
      const q = a.quality!;
      return {
        id: a.id,
        strategy: a.strategy,
        imatrix: a.imatrix,
        sizeBytes: a.sizeBytes,
        bpw: a.bpw,
        ppl: q.ppl,
        kldMean: q.kldMean!,
        kldP99: q.kldP99 ?? Number.NaN,
        top1: q.top1 ?? Number.NaN,
        kldChangePct: ((q.kldMean! - reference) / reference) * 100,
        stockCheck: a.stockCheck ?? null,
      };
    })
    .sort((a, b) => Number(a.imatrix) - Number(b.imatrix) || a.strategy.localeCompare(b.strategy));
}
