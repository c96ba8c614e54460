/**
 * evaluate(): perplexity of each artifact and of the F16 baseline, KL divergence and top-1
 * agreement against the baseline, the regression gate, and the results written into the manifest.
 * `pajamas eval`, `pajamas quantize` (after its artifacts) and `compare` all come through here.
 *
 * With a baseline every artifact takes one llama-perplexity pass (--kl-divergence gives its
 * perplexity on the same tokens too); the baseline's own pass happens once per text and context
 * and is cached. Without one, each artifact gets a plain perplexity pass and KLD fields are null.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { FormatError, OptionError, type Remedy, UsageError, throwIfCancelled } from '../errors';
import { readGgufHeader } from '../formats/gguf';
import { tempPathFor } from '../fs/atomic';
import type { JobOptions } from '../job';
import { type LlamaTools, ensureLlamaTools } from '../llamacpp';
import { readManifest, writeManifest } from '../manifest/io';
import type { Manifest, QualityResult, TextRef } from '../manifest/types';
import { type PreparedBaseline, type StatFs, nodeStatFs, prepareBaseline } from './baseline';
import { DEFAULT_GATE_THRESHOLD_PCT, checkGateThreshold, gateFailures, gateVerdict, qualityGateError } from './gate';
import { defaultKldCacheDir } from './kld-cache';
import { availableChunks } from './kld-cap';
import { type KldResult, runKlDivergence } from './kld';
import { mlxArtifactToGguf } from './mlx-gguf';
import { runPerplexity } from './perplexity';
import { type EvalTarget, ggufVocabSize, resolveEvalInput } from './targets';
import { type EvalText, resolveEvalText, textRefFor } from './text';
import { countTokens } from './tokens';

export const DEFAULT_EVAL_CTX = 512;
/** llama-perplexity needs room for a BOS and a scored half; tiny contexts give meaningless numbers. */
export const MIN_EVAL_CTX = 16;

export interface EvaluateOptions {
  /** F16 GGUF to compare against (default: the manifest's baseline). */
  baseline?: string;
  /** Evaluation text (default: data/eval-default.txt). */
  text?: string;
  ctx?: number;
  gateThresholdPct?: number;
  /** false: report gate verdicts without failing (--no-gate). */
  gate?: boolean;
  /** Evaluate only the first N chunks of the text. */
  maxChunks?: number;
  /** KL-divergence base cache (default <cache>/kld-base). */
  cacheDir?: string;
  maxBaseBytes?: number;
  /** Write the results into the manifest (default true). */
  updateManifest?: boolean;
}

export interface EvaluateJobOptions extends JobOptions {
  tools?: LlamaTools;
  threads?: number;
  /** Disk-space probe (tests replace it). */
  statfs?: StatFs;
}

export interface ArtifactEvaluation extends EvalTarget {
  quality: QualityResult;
  /** The full KL-divergence statistics, when there was a baseline. */
  kld: KldResult | null;
}

export interface EvaluationReport {
  manifestPath: string | null;
  text: TextRef;
  textPath: string;
  ctx: number;
  /** Chunks of `ctx` tokens evaluated, and how many the text holds. */
  chunks: number;
  availableChunks: number;
  /** Why fewer chunks than the text holds were evaluated (disk cap), or null. */
  capReason: string | null;
  baseline: { path: string; ppl: number; rebuilt: boolean; kldBase: string; kldBaseReused: boolean } | null;
  artifacts: ArtifactEvaluation[];
  gate: { enforced: boolean; thresholdPct: number; failed: string[] };
}

interface Settings {
  text: EvalText;
  ctx: number;
  thresholdPct: number;
  maxChunks?: number;
}

export async function evaluate(input: string, options: EvaluateOptions = {}, job: EvaluateJobOptions = {}): Promise<EvaluationReport> {
  const s = await checkSettings(options);
  const evalInput = await resolveEvalInput(input, options.baseline);
  const calibration = evalInput.manifest?.calibration?.text;
  if (calibration && calibration.sha256 === s.text.sha256) {
    throw new UsageError(`the evaluation text ${s.text.path} is the calibration text (${calibration.name}): evaluate on a different text`);
  }
  const tools = job.tools ?? (await ensureLlamaTools({ signal: job.signal, onProgress: job.onProgress, log: job.log }));
  const ctxJob: EvaluateJobOptions = { ...job, tools };
  const referenceGguf = evalInput.targets.find((t) => t.format === 'gguf')?.path ?? null;

  let prepared: PreparedBaseline | null = null;
  try {
    if (evalInput.baseline) {
      prepared = await prepareBaseline(
        evalInput.baseline,
        {
          text: s.text,
          ctx: s.ctx,
          maxChunks: s.maxChunks,
          cacheDir: options.cacheDir ?? defaultKldCacheDir(),
          maxBaseBytes: options.maxBaseBytes,
          statfs: job.statfs ?? nodeStatFs,
          tools,
          threads: job.threads,
          referenceGguf,
        },
        job,
      );
    }
    const scope = prepared
      ? { chunks: prepared.chunks, available: prepared.availableChunks, capReason: prepared.capReason }
      : await plainScope(referenceGguf, s, ctxJob);
    const textRef = textRefFor(s.text, scope.chunks, scope.available, s.ctx);
    const artifacts: ArtifactEvaluation[] = [];
    for (const [i, t] of evalInput.targets.entries()) {
      throwIfCancelled(job.signal);
      job.onProgress?.({ step: 'evaluate', done: i, total: evalInput.targets.length, unit: 'files', message: t.id });
      artifacts.push(await evaluateTarget(t, prepared, s, textRef, scope.chunks, ctxJob));
    }
    const report: EvaluationReport = {
      manifestPath: evalInput.manifestPath,
      text: textRef,
      textPath: s.text.path,
      ctx: s.ctx,
      chunks: scope.chunks,
      availableChunks: scope.available,
      capReason: scope.capReason,
      baseline: prepared
        ? {
            path: prepared.spec.path,
            ppl: prepared.ppl,
            rebuilt: prepared.rebuilt,
            kldBase: prepared.entry.file,
            kldBaseReused: prepared.entry.reused,
          }
        : null,
      artifacts,
      gate: {
        enforced: options.gate !== false,
        thresholdPct: s.thresholdPct,
        failed: gateFailures(artifacts.map((a) => ({ ...a, ...a.quality }))).map((a) => a.id),
      },
    };
    if (evalInput.manifestPath && options.updateManifest !== false) {
      await recordInManifest(evalInput.manifestPath, report, prepared?.spec.fromManifest ?? false);
    }
    if (report.gate.enforced && report.gate.failed.length) {
      const failures = artifacts.filter((a) => report.gate.failed.includes(a.id)).map((a) => ({ id: a.id, ...a.quality }));
      throw qualityGateError(failures, s.thresholdPct, { report });
    }
    return report;
  } finally {
    // A rebuilt intermediate goes again: the manifest says it was not kept.
    if (prepared?.rebuilt) await fsp.rm(prepared.spec.path, { force: true });
  }
}

/** The evaluation context size, checked: llama-perplexity needs MIN_EVAL_CTX tokens or more. */
export function checkEvalContext(ctx: number): number {
  if (!Number.isInteger(ctx) || ctx < MIN_EVAL_CTX) throw new OptionError('contextSize', ctx, `an integer of at least ${MIN_EVAL_CTX}`);
  return ctx;
}

async function checkSettings(options: EvaluateOptions): Promise<Settings> {
  const ctx = checkEvalContext(options.ctx ?? DEFAULT_EVAL_CTX);
  const thresholdPct = checkGateThreshold(options.gateThresholdPct ?? DEFAULT_GATE_THRESHOLD_PCT);
  if (options.maxChunks !== undefined && (!Number.isInteger(options.maxChunks) || options.maxChunks < 1)) {
    throw new OptionError('maxChunks', options.maxChunks, 'a positive integer');
  }
  return { text: await resolveEvalText(options.text), ctx, thresholdPct, maxChunks: options.maxChunks };
}

/** Without a baseline: how many chunks the plain perplexity passes cover. */
async function plainScope(
  referenceGguf: string | null,
  s: Settings,
  job: EvaluateJobOptions,
): Promise<{ chunks: number; available: number; capReason: null }> {
  if (!referenceGguf)
    throw new UsageError(
      'nothing to tokenize the evaluation text with: the manifest has only MLX artifacts and no baseline; name an F16 GGUF of the ' +
        'model as the baseline',
      { remedies: [{ option: 'baseline' }] satisfies Remedy[] },
    );
  const tokens = await countTokens(referenceGguf, s.text.path, job);
  const available = availableChunks(tokens, s.ctx, s.text.name);
  return { chunks: Math.min(available, s.maxChunks ?? available), available, capReason: null };
}

async function evaluateTarget(
  t: EvalTarget,
  prepared: PreparedBaseline | null,
  s: Settings,
  textRef: TextRef,
  chunks: number,
  job: EvaluateJobOptions,
): Promise<ArtifactEvaluation> {
  if (t.format === 'gguf') return measure(t, t.path, prepared, s, textRef, chunks, job);
  // MLX: measured through an F16 GGUF of its exact (dequantized) weights, deleted afterwards.
  const gguf = tempPathFor(path.join(path.dirname(t.path), `${t.id}-dequantized.gguf`));
  try {
    job.log?.(`${t.id}: converting the MLX weights to a GGUF to measure them with llama.cpp`);
    await mlxArtifactToGguf(t.path, gguf, job);
    return await measure(t, gguf, prepared, s, textRef, chunks, job);
  } finally {
    await fsp.rm(gguf, { force: true });
  }
}

async function measure(
  t: EvalTarget,
  gguf: string,
  prepared: PreparedBaseline | null,
  s: Settings,
  textRef: TextRef,
  chunks: number,
  job: EvaluateJobOptions,
): Promise<ArtifactEvaluation> {
  const step = `evaluate ${t.id}`;
  let ppl: number;
  let kld: KldResult | null = null;
  if (prepared) {
    const nVocab = ggufVocabSize(await readGgufHeader(gguf));
    if (nVocab !== prepared.nVocab) {
      throw new FormatError(
        `${t.id} has a ${nVocab}-token vocabulary and the baseline ${prepared.spec.path} has ${prepared.nVocab}: they are not the same ` +
          `model`,
        { path: t.path },
      );
    }
    kld = await runKlDivergence(gguf, prepared.entry.file, prepared.entry.meta.header, { ...job, progressStep: step });
    ppl = kld.ppl;
  } else {
    ppl = (await runPerplexity(gguf, s.text.path, { ...job, ctx: s.ctx, chunks, totalChunks: chunks, progressStep: step })).ppl;
  }
  const pplRatio = prepared ? ppl / prepared.ppl : null;
  const quality: QualityResult = {
    text: textRef,
    contextSize: s.ctx,
    ppl,
    // llama-perplexity skips baseline probabilities below e^-16, so near-identical models can
    // come out a hair under zero; KL divergence is never negative.
    kldMean: kld ? Math.max(0, kld.kldMean) : null,
    kldP99: kld?.kldP99 != null ? Math.max(0, kld.kldP99) : null,
    top1: kld ? Math.min(1, Math.max(0, kld.top1)) : null,
    pplRatio,
    gate: gateVerdict(pplRatio, s.thresholdPct),
    evaluatedAt: new Date().toISOString(),
  };
  job.log?.(`${t.id}: PPL ${ppl.toFixed(4)}${kld ? `, mean KLD ${kld.kldMean.toFixed(6)}, top-1 ${(kld.top1 * 100).toFixed(2)}%` : ''}`);
  const { id, format, strategy, imatrix, target, sizeBytes, bpw } = t;
  return { id, path: t.path, format, strategy, imatrix, target, sizeBytes, bpw, quality, kld };
}

/** Re-reads the manifest (it may have changed while the tools ran) and records every result. */
async function recordInManifest(manifestPath: string, report: EvaluationReport, baselineIsManifests: boolean): Promise<void> {
  const { manifest } = await readManifest(manifestPath);
  const updated: Manifest = applyEvaluation(manifest, report, baselineIsManifests);
  await writeManifest(manifestPath, updated);
}

/** The manifest with the report's results in it (pure). */
export function applyEvaluation(manifest: Manifest, report: EvaluationReport, baselineIsManifests: boolean): Manifest {
  const byId = new Map(report.artifacts.map((a) => [a.id, a.quality]));
  const artifacts = manifest.artifacts.map((a) => (byId.has(a.id) ? { ...a, quality: byId.get(a.id)! } : a));
  const baseline =
    manifest.baseline && report.baseline && baselineIsManifests
      ? { ...manifest.baseline, quality: { text: report.text, contextSize: report.ctx, ppl: report.baseline.ppl } }
      : manifest.baseline;
  return { ...manifest, artifacts, baseline, updatedAt: new Date().toISOString() };
}
