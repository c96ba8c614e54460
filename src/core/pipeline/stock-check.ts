/**
 * The guarantee behind "pajamas is never worse than stock": every finished pajamas GGUF is measured
 * against the stock recipe's file for the same target and importance matrix, by mean KL divergence
 * against the F16 intermediate on the calibration text (never the evaluation text). When the
 * pajamas file is not clearly better, the stock file takes its place under the artifact's name, and
 * the manifest says so and why. The plan's priors are a prediction; this is the measurement that
 * decides, on the model at hand.
 */
import { copyFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { throwIfCancelled } from '../errors';
import { tempPathFor } from '../fs/atomic';
import type { JobOptions } from '../job';
import type { LlamaTools } from '../llamacpp';
import type { Calibration, GgufArtifact, StockCheck } from '../manifest/types';
import type { ModelTensors } from '../plan/load';
import { planQuantization } from '../plan/plan';
import type { PlanTarget, QuantPlan } from '../plan/types';
import { type PreparedBaseline, nodeStatFs, prepareBaseline } from '../quality/baseline';
import { defaultKldCacheDir } from '../quality/kld-cache';
import { runKlDivergence } from '../quality/kld';
import type { CalibrationText } from './calibration';
import { inputsKey } from './keys';
import type { ManifestState } from './manifest-state';
import { planFallbacks } from './manifest-state';
import { ggufArtifactId } from './options';
import { quantizeByPlan } from './quantize-gguf';
import type { ToolRunTiming } from './timings';

/** Chunks of calibration text the check scores at most: enough tokens to separate the plans, few enough to stay cheap. */
export const STOCK_CHECK_MAX_CHUNKS = 64;
/** The baseline's log-probabilities for the check stay under this size (large vocabularies get fewer chunks). */
export const STOCK_CHECK_MAX_BASE_BYTES = 2 * 1024 ** 3;
/**
 * The pajamas file must beat stock by this fraction of stock's mean KLD to be kept: a smaller edge
 * is within what a change of text moves, and a tie goes to the recipe everyone knows.
 */
export const STOCK_CHECK_MARGIN = 0.02;
/** Bump when the rule or what the check measures changes, so recorded verdicts are made again. */
const STOCK_CHECK_VERSION = 1;

export interface StockCheckJob {
  tools: LlamaTools;
  state: ManifestState;
  outDir: string;
  modelName: string;
  /** The F16/BF16/F32 GGUF the artifacts were quantized from (the KL-divergence reference). */
  intermediate: { path: string; sha256: string; sizeBytes: number };
  calibration: CalibrationText;
  contextSize: number;
  /** The pajamas plans this run built, each with the stock plan of the same target. */
  pairs: { pajamas: QuantPlan; stock: QuantPlan }[];
  /** The importance matrix the run used, or null. */
  imatrix: Calibration | null;
  /** Whether the run also built the naive artifacts (their files are the stock files). */
  naiveBuilt: boolean;
}

export interface StockCheckOutcome {
  id: string;
  check: StockCheck;
  /** False when the recorded verdict was still valid. */
  ran: boolean;
}

export interface StockCheckSummary {
  outcomes: StockCheckOutcome[];
  /** llama-quantize runs for stock files, the baseline pass and the KL-divergence passes. */
  tools: ToolRunTiming[];
  ms: number;
}

export async function checkAgainstStock(job: StockCheckJob, opts: JobOptions = {}): Promise<StockCheckSummary> {
  const started = performance.now();
  const summary: StockCheckSummary = { outcomes: [], tools: [], ms: 0 };
  const textFile = tempPathFor(path.join(job.outDir, 'stock-check-calibration.txt'));
  let baseline: PreparedBaseline | null = null;
  try {
    for (const pair of job.pairs) {
      throwIfCancelled(opts.signal);
      const id = ggufArtifactId(job.modelName, pair.pajamas.target, 'pajamas', job.imatrix !== null);
      const artifact = job.state.artifact(id);
      if (artifact?.format !== 'gguf') continue;
      const key = checkKey(job, artifact);
      if (artifact.stockCheck?.inputsKey === key) {
        opts.log?.(`${id}: the check against stock is up to date (${artifact.stockCheck.kept} kept)`);
        summary.outcomes.push({ id, check: artifact.stockCheck, ran: false });
        continue;
      }
      if (!baseline) {
        const baselineStarted = performance.now();
        await writeFile(textFile, job.calibration.text);
        baseline = await calibrationBaseline(job, textFile, opts);
        if (!baseline.entry.reused)
          summary.tools.push({ step: 'llama-perplexity stock check baseline', ms: performance.now() - baselineStarted });
      }
      const check = await checkOne(job, pair, artifact, key, baseline, summary.tools, opts);
      summary.outcomes.push({ id, check, ran: true });
      await job.state.save();
    }
  } finally {
    await rm(textFile, { force: true });
  }
  summary.ms = performance.now() - started;
  return summary;
}

/** Each pajamas plan with the stock plan of its target: the run's naive plan when it made one. */
export function pairWithStock(plans: readonly QuantPlan[], loaded: ModelTensors): { pajamas: QuantPlan; stock: QuantPlan }[] {
  const stockPlan = (target: PlanTarget) =>
    plans.find((p) => p.strategy === 'naive' && p.target === target) ??
    planQuantization(loaded.arch, loaded.tensors, { target, strategy: 'naive', sourceIsGguf: loaded.origin === 'gguf' });
  return plans.filter((p) => p.strategy === 'pajamas').map((pajamas) => ({ pajamas, stock: stockPlan(pajamas.target) }));
}

function checkKey(job: StockCheckJob, artifact: GgufArtifact): string {
  return inputsKey({
    version: STOCK_CHECK_VERSION,
    artifact: artifact.inputsKey,
    text: job.calibration.ref.sha256,
    ctx: job.contextSize,
    maxChunks: STOCK_CHECK_MAX_CHUNKS,
    margin: STOCK_CHECK_MARGIN,
  });
}

/** The F16 intermediate's log-probabilities over the calibration text (cached like the evaluation's). */
async function calibrationBaseline(job: StockCheckJob, textFile: string, opts: JobOptions): Promise<PreparedBaseline> {
  const { intermediate, calibration } = job;
  return prepareBaseline(
    {
      path: intermediate.path,
      recorded: { sha256: intermediate.sha256, sizeBytes: intermediate.sizeBytes },
      exists: true,
      rebuildFrom: null,
      fromManifest: false,
    },
    {
      text: {
        path: textFile,
        name: calibration.ref.name,
        sha256: calibration.ref.sha256,
        bytes: calibration.text.length,
        isDefault: false,
      },
      ctx: job.contextSize,
      maxChunks: STOCK_CHECK_MAX_CHUNKS,
      cacheDir: defaultKldCacheDir(),
      maxBaseBytes: STOCK_CHECK_MAX_BASE_BYTES,
      statfs: nodeStatFs,
      tools: job.tools,
      referenceGguf: null,
    },
    opts,
  );
}

async function checkOne(
  job: StockCheckJob,
  pair: { pajamas: QuantPlan; stock: QuantPlan },
  artifact: GgufArtifact,
  key: string,
  baseline: PreparedBaseline,
  tools: ToolRunTiming[],
  opts: JobOptions,
): Promise<StockCheck> {
  const started = performance.now();
  const file = path.join(job.outDir, artifact.path);
  const stock = await stockFile(job, pair.stock, artifact, tools, opts);
  try {
    const kld = async (gguf: string, what: string): Promise<number> => {
      const run = await runKlDivergence(gguf, baseline.entry.file, baseline.entry.meta.header, {
        ...opts,
        tools: job.tools,
        progressStep: `check ${artifact.id} against stock: ${what}`,
      });
      tools.push({ step: `llama-perplexity stock check ${artifact.id} (${what})`, ms: run.durationMs });
      return Math.max(0, run.kldMean);
    };
    const kldMean = await kld(file, 'pajamas');
    const stockKldMean = await kld(stock.path, 'stock');
    const keep = kldMean < stockKldMean * (1 - STOCK_CHECK_MARGIN);
    const versus =
      `mean KLD ${kldMean.toPrecision(4)} against stock's ${stockKldMean.toPrecision(4)} ` +
      `on ${baseline.chunks} x ${job.contextSize} tokens of ${job.calibration.ref.name}`;
    const reason = keep
      ? `the pajamas plan is kept: ${versus}`
      : `the pajamas plan was not at least ${STOCK_CHECK_MARGIN * 100}% better (${versus}); this artifact holds the stock recipe's file`;
    const check: StockCheck = {
      text: job.calibration.ref,
      contextSize: job.contextSize,
      chunks: baseline.chunks,
      kldMean,
      stockKldMean,
      kept: keep ? 'pajamas' : 'stock',
      reason,
      inputsKey: key,
      durationMs: 0,
    };
    let updated: GgufArtifact = { ...artifact, stockCheck: check };
    if (!keep) updated = await replaceWithStock(updated, file, stock, pair.stock);
    check.durationMs = performance.now() - started;
    opts.log?.(`${artifact.id}: ${reason}`);
    job.state.upsertArtifact(updated);
    return check;
  } finally {
    if (stock.temporary) await rm(stock.path, { force: true });
  }
}

interface StockFile {
  path: string;
  sha256: string;
  sizeBytes: number;
  tensorTypes: Record<string, number>;
  temporary: boolean;
}

/** The naive artifact of this run when there is one; otherwise the stock plan quantized into a temporary file. */
async function stockFile(
  job: StockCheckJob,
  plan: QuantPlan,
  artifact: GgufArtifact,
  tools: ToolRunTiming[],
  opts: JobOptions,
): Promise<StockFile> {
  const naiveId = ggufArtifactId(job.modelName, plan.target, 'naive', artifact.imatrix);
  const naive = job.naiveBuilt ? job.state.artifact(naiveId) : undefined;
  if (naive?.format === 'gguf') {
    const { sha256, sizeBytes, tensorTypes } = naive;
    return { path: path.join(job.outDir, naive.path), sha256, sizeBytes, tensorTypes, temporary: false };
  }
  const outPath = tempPathFor(path.join(job.outDir, `${naiveId}-stock-check.gguf`));
  const imatrixPath = job.imatrix ? path.join(job.outDir, job.imatrix.imatrix.path) : null;
  const result = await quantizeByPlan({ tools: job.tools, input: job.intermediate.path, plan, outPath, imatrixPath }, opts);
  tools.push({ step: `llama-quantize stock check ${naiveId}`, ms: result.toolMs });
  return { path: outPath, sha256: result.sha256, sizeBytes: result.sizeBytes, tensorTypes: result.tensorTypes, temporary: true };
}

/** The stock file under the pajamas artifact's name (written aside, then renamed over it). */
async function replaceWithStock(artifact: GgufArtifact, file: string, stock: StockFile, plan: QuantPlan): Promise<GgufArtifact> {
  const tmp = tempPathFor(file);
  try {
    if (stock.temporary) await rename(stock.path, tmp);
    else await copyFile(stock.path, tmp);
    await rename(tmp, file);
  } finally {
    await rm(tmp, { force: true });
  }
  return {
    ...artifact,
    sizeBytes: stock.sizeBytes,
    sha256: stock.sha256,
    bpw: plan.totals.bpw,
    tensorTypes: stock.tensorTypes,
    fallbacks: planFallbacks(plan),
    quality: null,
  };
}
