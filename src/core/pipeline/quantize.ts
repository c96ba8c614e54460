/**
 * `pajamas quantize`: detect -> plan -> F16 intermediate -> importance matrix -> one GGUF per
 * target and strategy -> MLX -> evaluation -> manifest.json. Every input is checked before heavy
 * work; an artifact whose inputs are unchanged is not rebuilt; outputs appear under their final
 * names only when complete, and the manifest is saved after each one, so a killed run resumes.
 */
import { copyFile, mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { nodeLlamaCppVersion, packageVersion } from '../assets';
import { OptionError, QualityGateError, type Remedy, UnsupportedError, UsageError, throwIfCancelled } from '../errors';
import { removeStaleTemps, writeAtomically } from '../fs/atomic';
import { diskFullError, isDiskFull } from '../fs/disk-full';
import { sha256File } from '../fs/hash';
import { type JobOptions, type Logger, noLog } from '../job';
import { ensureLlamaTools, type LlamaTools } from '../llamacpp';
import { MANIFEST_FILE, MANIFEST_SCHEMA_ID, MANIFEST_VERSION, type Calibration, type GgufArtifact, type Manifest } from '../manifest/types';
import { relativePathProblem } from '../manifest/paths';
import { checkFile } from '../manifest/verify';
import { loadModelTensors, type ModelTensors } from '../plan/load';
import { planQuantization } from '../plan/plan';
import type { PlanStrategy, QuantPlan } from '../plan/types';
import { isMlxSupportedModelType, MLX_SUPPORTED_MODEL_TYPES } from '../mlx';
import { evaluate, resolveEvalText, type EvalText } from '../quality';
import { assertDistinctTexts, loadCalibrationText } from './calibration';
import { checkFreeSpace, type DiskNeed } from './disk';
import { computeImatrix } from './imatrix';
import { checkIntermediateMatchesPlan, ensureIntermediate, type Intermediate } from './intermediate';
import { inputsKey, planTypesKey, sourceKey } from './keys';
import { ensureMlxArtifact, mlxClassTarget } from './mlx-artifact';
import { ManifestState, planFallbacks, planRecord, readPreviousManifest } from './manifest-state';
import { lockOutputFolder } from './output-lock';
import { ggufArtifactId, mlxArtifactId, resolveSettings, type OutputFormat, type QuantizeRequest, type QuantizeSettings } from './options';
import { quantizeByPlan } from './quantize-gguf';
import { checkAgainstStock, pairWithStock } from './stock-check';
import { describeSource, resolveModelSource, type ModelSource } from './source';
import { elapsedMs, formatStockCheckCost, formatTimings, newTimings, type QuantizeTimings } from './timings';

export interface QuantizeResult {
  manifestPath: string;
  manifest: Manifest;
  built: string[];
  skipped: string[];
  timings: QuantizeTimings;
}

interface Run {
  evalText: EvalText | null;
  settings: QuantizeSettings;
  model: ModelSource;
  loaded: ModelTensors;
  plans: QuantPlan[];
  state: ManifestState;
  tools: LlamaTools;
  opts: JobOptions;
  built: string[];
  skipped: string[];
  timings: QuantizeTimings;
}

export async function quantizeModel(request: QuantizeRequest, opts: JobOptions = {}): Promise<QuantizeResult> {
  const started = performance.now();
  const log = opts.log ?? noLog;
  const checked = await checkRequest(request, opts);
  // One writer per output folder: a second run waits here for the first, then reuses its work.
  const release = await lockOutputFolder(checked.settings.outDir, { signal: opts.signal, log, wait: request.waitForOutputFolder });
  try {
    return await runLocked(checked, started, opts);
  } catch (error) {
    // A disk that fills up half-way: say which folder and how much the run needs (writes are atomic, the manifest intact).
    if (isDiskFull(error)) throw await diskFullError(error, { folder: checked.settings.outDir, neededBytes: checked.diskNeedBytes });
    throw error;
  } finally {
    await release();
  }
}

async function runLocked(checked: CheckedRequest, started: number, opts: JobOptions): Promise<QuantizeResult> {
  const log = opts.log ?? (() => {});
  const { run, intermediate } = await openRun(checked, opts);
  const { settings, state } = run;
  const imatrix = settings.imatrix.kind === 'off' ? null : await ensureImatrix(run, intermediate);
  for (const plan of run.plans) await ensureGgufArtifact(run, plan, intermediate, imatrix);
  if (settings.stockCheck) await checkPajamasAgainstStock(run, intermediate, imatrix);
  const mlxStarted = performance.now();
  if (settings.formats.includes('mlx')) for (const strategy of settings.strategies) await ensureMlx(run, strategy);
  run.timings.mlxMs = elapsedMs(mlxStarted);

  // A failed gate still leaves a complete manifest (with the verdicts) and a tidy folder.
  const evaluateStarted = performance.now();
  const gateError = run.evalText ? await evaluateArtifacts(run, run.evalText) : null;
  run.timings.evaluateMs = elapsedMs(evaluateStarted);
  if (intermediate.owned && !settings.keepIntermediate) {
    await rm(intermediate.path, { force: true });
    state.manifest.baseline!.kept = false;
    log('deleted the F16 intermediate (the keep-intermediate option keeps it)');
  }
  await state.save();
  run.timings.totalMs = elapsedMs(started);
  log(formatTimings(run.timings));
  if (settings.stockCheck) log(formatStockCheckCost(run.timings));
  if (gateError) throw gateError;
  return { manifestPath: state.file, manifest: state.manifest, built: run.built, skipped: run.skipped, timings: run.timings };
}

interface CheckedRequest {
  model: ModelSource;
  settings: QuantizeSettings;
  loaded: ModelTensors;
  plans: QuantPlan[];
  tools: LlamaTools;
  evalText: EvalText | null;
  /** The free-space check's estimate of what the run writes. */
  diskNeedBytes: number;
}

/** Everything that can be wrong with the request, found before any heavy work. */
async function checkRequest(request: QuantizeRequest, opts: JobOptions): Promise<CheckedRequest> {
  const log = opts.log ?? noLog;
  resolveSettings(request, 'model'); // the options are checked before a Hub model downloads
  const model = await resolveModelSource(request.model, { ...opts, hub: request.hub });
  const resolved = resolveSettings(request, model.name);
  const explicitFormats = request.formats !== undefined;
  const formats = formatsForInput(resolved.formats, model, explicitFormats);
  opts.onProgress?.({ step: 'detect', message: model.path });
  const loaded = await loadModelTensors(model.path, opts);
  const plans = resolved.targets.flatMap((target) =>
    resolved.strategies.map((strategy) =>
      planQuantization(loaded.arch, loaded.tensors, {
        target,
        strategy,
        mlxBits: resolved.mlx.bits,
        mlxGroupSize: resolved.mlx.groupSize,
        sourceIsGguf: loaded.origin === 'gguf',
      }),
    ),
  );
  const settings: QuantizeSettings = { ...resolved, formats: formatsForArchitecture(formats, loaded, explicitFormats, log) };
  const evalText = settings.evaluate ? await resolveEvalText(settings.evalTextFile ?? undefined) : null;
  // The importance matrix and the check against stock both read the calibration text: never the evaluation text.
  if (evalText && (settings.imatrix.kind === 'auto' || settings.stockCheck))
    assertDistinctTexts((await loadCalibrationText(settings.calibrationFile)).ref, evalText);
  await mkdir(settings.outDir, { recursive: true });
  const diskNeedBytes = await checkDisk(settings, model, plans);
  const tools = await ensureLlamaTools({ signal: opts.signal, onProgress: opts.onProgress, log });
  return { model, settings, loaded, plans, tools, evalText, diskNeedBytes };
}

/**
 * The F16 intermediate (made or reused) and the manifest this run builds on. The source is hashed
 * on a worker thread while the converter writes the intermediate.
 */
async function openRun(c: CheckedRequest, opts: JobOptions): Promise<{ run: Run; intermediate: Intermediate }> {
  const log = opts.log ?? noLog;
  for (const name of await removeStaleTemps(c.settings.outDir)) log(`removed ${name}, left over from an interrupted run`);
  const manifestPath = path.join(c.settings.outDir, MANIFEST_FILE);
  const previous = await readPreviousManifest(manifestPath, log);
  const sourceHashing = describeSource(c.model, previous?.source ?? null, opts);
  sourceHashing.catch(() => undefined); // surfaced where awaited
  const intermediate = await ensureIntermediate(c.model, sourceHashing, c.settings.outDir, previous?.baseline ?? null, opts);
  const source = await sourceHashing;
  const state = ManifestState.open(manifestPath, freshManifest(c.model, source, c.loaded, c.tools, c.plans), previous, log);
  const run: Run = { ...c, state, opts, built: [], skipped: [], timings: newTimings() };
  run.timings.convertMs = intermediate.convertMs;
  // A manifest names only files inside its folder: a GGUF input elsewhere is its own baseline,
  // recorded by name as not kept here (evaluation then falls back to source.path).
  const inside = relativePathProblem(relative(run, intermediate.path)) === null;
  state.manifest.baseline = {
    path: inside ? relative(run, intermediate.path) : path.basename(intermediate.path),
    sizeBytes: intermediate.sizeBytes,
    sha256: intermediate.sha256,
    inputsKey: c.model.kind === 'gguf' ? null : intermediate.inputsKey,
    kept: inside,
    quality: previous?.baseline?.sha256 === intermediate.sha256 ? (previous.baseline.quality ?? null) : null,
  };
  await checkIntermediateMatchesPlan(intermediate.path, c.plans[0]!);
  await state.save();
  return { run, intermediate };
}

/**
 * Evaluates every artifact against the F16 baseline unless all of them already hold results for
 * this text and context; returns the gate's error instead of throwing it.
 */
async function evaluateArtifacts(run: Run, text: EvalText): Promise<QualityGateError | null> {
  const { state, settings } = run;
  const upToDate = (q: { text: { sha256: string }; contextSize: number } | null | undefined) =>
    !!q && q.text.sha256 === text.sha256 && q.contextSize === settings.contextSize;
  if (upToDate(state.manifest.baseline?.quality) && state.manifest.artifacts.every((a) => upToDate(a.quality))) {
    run.opts.log?.('evaluation results are up to date');
    return null;
  }
  try {
    await evaluate(
      state.file,
      { text: text.path, ctx: settings.contextSize, gate: settings.gate, gateThresholdPct: settings.gateThresholdPct },
      { ...run.opts, tools: run.tools },
    );
    return null;
  } catch (error) {
    if (error instanceof QualityGateError) return error;
    throw error;
  } finally {
    await state.reload();
  }
}

/** MLX is written from the Hugging Face folder: a GGUF input gives GGUF only (an error when MLX was asked for). */
function formatsForInput(formats: OutputFormat[], model: ModelSource, explicit: boolean): OutputFormat[] {
  if (model.kind !== 'gguf' || !formats.includes('mlx')) return formats;
  if (explicit) throw new UsageError('MLX output is written from the Hugging Face folder; a GGUF input can only give GGUF artifacts');
  return formats.filter((f) => f !== 'mlx');
}

/** MLX output covers fewer architectures than GGUF: left out of the defaults, refused when asked for. */
function formatsForArchitecture(formats: OutputFormat[], loaded: ModelTensors, explicit: boolean, log: Logger): OutputFormat[] {
  if (!formats.includes('mlx') || isMlxSupportedModelType(loaded.arch.modelType)) return formats;
  const why = `MLX output does not support ${loaded.arch.modelType} yet (supported: ${MLX_SUPPORTED_MODEL_TYPES.join(', ')})`;
  if (explicit)
    throw new UnsupportedError(`${why}; ask for GGUF only`, { remedies: [{ option: 'formats', value: 'gguf' }] satisfies Remedy[] });
  log(`${why}; writing GGUF only`);
  return formats.filter((f) => f !== 'mlx');
}

async function ensureMlx(run: Run, strategy: PlanStrategy): Promise<void> {
  const { settings, state, loaded, model } = run;
  throwIfCancelled(run.opts.signal);
  const plan = planQuantization(loaded.arch, loaded.tensors, {
    target: mlxClassTarget(settings.mlx.bits),
    strategy,
    mlxBits: settings.mlx.bits,
    mlxGroupSize: settings.mlx.groupSize,
  });
  const id = mlxArtifactId(model.name, settings.mlx.bits, strategy);
  const previous = state.artifact(id);
  const { artifact, built } = await ensureMlxArtifact(
    {
      hfDir: model.path,
      outDir: settings.outDir,
      id,
      plan,
      sourceKey: sourceKey(state.manifest.source),
      previous: previous?.format === 'mlx' ? previous : null,
    },
    run.opts,
  );
  (built ? run.built : run.skipped).push(artifact.path);
  state.upsertArtifact(artifact);
  await state.save();
}

function freshManifest(
  model: ModelSource,
  source: Manifest['source'],
  loaded: ModelTensors,
  tools: LlamaTools,
  plans: QuantPlan[],
): Manifest {
  const now = new Date().toISOString();
  return {
    $schema: MANIFEST_SCHEMA_ID,
    manifestVersion: MANIFEST_VERSION,
    model: model.name,
    createdAt: now,
    updatedAt: now,
    source,
    architecture: loaded.arch,
    tools: {
      llamaPajamas: packageVersion(),
      llamaCpp: { release: tools.release, commit: tools.commit },
      nodeLlamaCpp: nodeLlamaCppVersion(),
    },
    calibration: null,
    plans: plans.map(planRecord),
    baseline: null,
    artifacts: [],
  };
}

/** Fails early when the folder cannot hold the outputs; returns the estimate. */
async function checkDisk(settings: QuantizeSettings, model: ModelSource, plans: readonly QuantPlan[]): Promise<number> {
  const needs: DiskNeed[] = [];
  if (model.kind === 'hf-folder') {
    const f16 = plans[0]!.tensors.reduce((n, t) => n + (t.sourceType === 'F32' ? 4 : 2) * t.shape.reduce((a, b) => a * b, 1), 0);
    needs.push({ what: 'F16 intermediate', bytes: f16 });
  }
  needs.push({ what: 'GGUF artifacts', bytes: plans.reduce((n, p) => n + p.totals.sizeBytes, 0) });
  if (settings.formats.includes('mlx'))
    needs.push({ what: 'MLX artifacts', bytes: settings.strategies.length * plans[0]!.totals.mlxSizeBytes });
  await checkFreeSpace(settings.outDir, needs);
  return needs.reduce((n, d) => n + d.bytes, 0);
}

async function ensureImatrix(run: Run, intermediate: Intermediate): Promise<Calibration> {
  const { state, opts, settings } = run;
  if (settings.imatrix.kind === 'file') return userImatrix(run, settings.imatrix.path);
  const calibration = await loadCalibrationText(settings.calibrationFile);
  const key = inputsKey({ model: intermediate.sha256, text: calibration.ref.sha256, llamaCpp: run.tools.commit ?? run.tools.release });
  const previous = state.manifest.calibration;
  if (previous?.inputsKey === key && !(await checkFile(path.join(settings.outDir, previous.imatrix.path), previous.imatrix))) {
    run.skipped.push(previous.imatrix.path);
    return previous;
  }
  const outPath = path.join(settings.outDir, `${run.model.name}-imatrix.gguf`);
  const result = await computeImatrix(
    { tools: run.tools, model: intermediate.path, calibration, outPath, isMoe: run.loaded.arch.moe !== null },
    opts,
  );
  run.timings.tools.push({ step: 'llama-imatrix', ms: result.toolMs });
  for (const gap of result.coverage?.underCovered ?? []) {
    opts.log?.(
      `warning: expert ${gap.expert} of layer ${gap.layer} saw only ${gap.tokens} calibration tokens after ${result.coverage!.rounds} ` +
        `round(s)`,
    );
  }
  const record: Calibration = {
    text: calibration.ref,
    inputsKey: key,
    imatrix: { path: path.basename(outPath), sizeBytes: (await stat(outPath)).size, sha256: result.sha256 },
    chunks: result.chunks,
    expertCoverage: result.coverage,
  };
  state.manifest.calibration = record;
  run.built.push(record.imatrix.path);
  await state.save();
  return record;
}

/**
 * A user's imatrix file is used as it is; its own hash stands in for the unknown calibration text.
 * One outside the output folder is copied in, since a manifest names only files inside its folder.
 */
async function userImatrix(run: Run, file: string): Promise<Calibration> {
  const info = await stat(file).catch(() => null);
  if (!info?.isFile()) throw new OptionError('imatrix', file, 'auto, off or an existing importance-matrix file');
  const sha256 = await sha256File(file, run.opts);
  let recorded = relative(run, file);
  if (relativePathProblem(recorded) !== null) {
    recorded = `imatrix-${path.basename(file)}`;
    await writeAtomically(path.join(run.settings.outDir, recorded), (tmp) => copyFile(file, tmp));
  }
  const record: Calibration = {
    text: { name: `user-provided imatrix ${path.basename(file)}`, sha256 },
    inputsKey: sha256,
    imatrix: { path: recorded, sizeBytes: info.size, sha256 },
    chunks: 0,
    expertCoverage: null,
  };
  run.state.manifest.calibration = record;
  await run.state.save();
  return record;
}

async function ensureGgufArtifact(run: Run, plan: QuantPlan, intermediate: Intermediate, calibration: Calibration | null): Promise<void> {
  const { state, settings, opts } = run;
  throwIfCancelled(opts.signal);
  const id = ggufArtifactId(run.model.name, plan.target, plan.strategy, calibration !== null);
  const key = inputsKey({
    intermediate: intermediate.sha256,
    plan: planTypesKey(plan),
    llamaCpp: run.tools.commit ?? run.tools.release,
    imatrix: calibration?.imatrix.sha256 ?? null,
  });
  const file = path.join(settings.outDir, `${id}.gguf`);
  const existing = state.artifact(id);
  if (
    existing?.format === 'gguf' &&
    existing.inputsKey === key &&
    !(await checkFile(file, { path: existing.path, sizeBytes: existing.sizeBytes, sha256: existing.sha256 }))
  ) {
    opts.log?.(`${id}.gguf is up to date`);
    run.skipped.push(existing.path);
    return;
  }
  const result = await quantizeByPlan(
    {
      tools: run.tools,
      input: intermediate.path,
      plan,
      outPath: file,
      imatrixPath: calibration ? path.join(settings.outDir, calibration.imatrix.path) : null,
    },
    opts,
  );
  run.timings.tools.push({ step: `llama-quantize ${id}`, ms: result.toolMs });
  const artifact: GgufArtifact = {
    id,
    format: 'gguf',
    path: path.basename(file),
    target: plan.target,
    strategy: plan.strategy,
    imatrix: calibration !== null,
    sizeBytes: result.sizeBytes,
    sha256: result.sha256,
    bpw: plan.totals.bpw,
    tensorTypes: result.tensorTypes,
    fallbacks: planFallbacks(plan),
    inputsKey: key,
    createdAt: new Date().toISOString(),
    quality: null,
  };
  state.upsertArtifact(artifact);
  run.built.push(artifact.path);
  await state.save();
}

/** Every pajamas GGUF of this run measured against the stock recipe's file on calibration text (stock-check.ts). */
async function checkPajamasAgainstStock(run: Run, intermediate: Intermediate, imatrix: Calibration | null): Promise<void> {
  const { settings } = run;
  const pairs = pairWithStock(run.plans, run.loaded);
  if (!pairs.length) return;
  const summary = await checkAgainstStock(
    {
      tools: run.tools,
      state: run.state,
      outDir: settings.outDir,
      modelName: run.model.name,
      intermediate,
      calibration: await loadCalibrationText(settings.calibrationFile),
      contextSize: settings.contextSize,
      pairs,
      imatrix,
      naiveBuilt: settings.strategies.includes('naive'),
    },
    run.opts,
  );
  run.timings.tools.push(...summary.tools);
  run.timings.stockCheckMs = summary.ms;
}

function relative(run: Run, file: string): string {
  return path.relative(run.settings.outDir, file) || path.basename(file);
}
