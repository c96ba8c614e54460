/**
 * The worker's custom requests: each calls the same core function the CLI calls, as a job
 * (progress, log lines, cancel) when it is long. Results are plain JSON.
 */
import path from 'node:path';
import type { CancellationToken, Connection } from 'vscode-languageserver/node';
import { detectArchitecture } from '../core/arch/detect';
import { CancelledError, QualityGateError, UsageError } from '../core/errors';
import type { JobOptions } from '../core/job';
import { readManifest } from '../core/manifest/io';
import type { Manifest } from '../core/manifest/types';
import { verifyManifest } from '../core/manifest/verify';
import { quantizeModel } from '../core/pipeline/quantize';
import { planModel } from '../core/plan/load';
import { recommend } from '../core/plan/recommend';
import { qualityChartSvg } from '../core/quality/chart';
import { evaluate } from '../core/quality/evaluate';
import { evaluationJson } from '../core/quality/report';
import {
  DetectRequest,
  EvaluateRequest,
  ListModelsRequest,
  PlanRequest,
  QuantizeRequestType,
  VerifyRequest,
  WorkerInfoRequest,
  type QuantizeParams,
  type QuantizeResult,
  type VerifyParams,
  type VerifyResult,
} from '../protocol/worker';
import type { ManifestDiagnostics } from './diagnostics';
import { handled } from './errors';
import type { JobRegistry } from './jobs';
import { listModels } from './list-models';

export interface RequestContext {
  connection: Connection;
  jobs: JobRegistry;
  diagnostics: ManifestDiagnostics;
  version: string;
}

const onCancel = (token: CancellationToken) => (listener: () => void) => token.onCancellationRequested(listener);

/** An AbortSignal that fires when the client cancels the request ($/cancelRequest). */
function signalOf(token: CancellationToken): AbortSignal {
  const controller = new AbortController();
  if (token.isCancellationRequested) controller.abort(new CancelledError());
  else token.onCancellationRequested(() => controller.abort(new CancelledError()));
  return controller.signal;
}

export function registerRequests({ connection, jobs, diagnostics, version }: RequestContext): void {
  connection.onRequest(
    DetectRequest,
    handled(({ model }, token: CancellationToken) => detectArchitecture(model, { signal: signalOf(token) })),
  );

  connection.onRequest(
    PlanRequest,
    handled(async ({ model, ...options }, token: CancellationToken) => {
      const started = performance.now();
      const planned = await planModel(model, options, { signal: signalOf(token) });
      return {
        arch: planned.arch,
        plan: planned.plan,
        origin: planned.origin,
        recommendation: recommend(planned.arch),
        elapsedMs: performance.now() - started,
      };
    }),
  );

  connection.onRequest(
    QuantizeRequestType,
    handled((params: QuantizeParams, token: CancellationToken) => quantize(jobs, params, token)),
  );

  connection.onRequest(
    EvaluateRequest,
    handled(async ({ jobId, input, ...options }, token: CancellationToken) => {
      const folder = await manifestFolderOf(input);
      return jobs.run({ jobId, method: 'evaluate', folder, onCancel: onCancel(token) }, async (opts) =>
        evaluationJson(await evaluate(input, options, opts)),
      );
    }),
  );

  connection.onRequest(
    VerifyRequest,
    handled((params: VerifyParams, token: CancellationToken) =>
      jobs.run({ jobId: params.jobId, method: 'verify', folder: null, onCancel: onCancel(token) }, async (opts) => {
        const result = await verify(params, opts);
        if (result.hashed) diagnostics.recordVerification(result.manifestPath, result.problems, params.artifacts);
        return result;
      }),
    ),
  );

  connection.onRequest(
    ListModelsRequest,
    handled((params) => listModels(params)),
  );

  connection.onRequest(
    WorkerInfoRequest,
    handled(async () => ({ pid: process.pid, version, node: process.version, jobs: jobs.running() })),
  );
}

async function quantize(jobs: JobRegistry, { jobId, request }: QuantizeParams, token: CancellationToken): Promise<QuantizeResult> {
  if (!request.outDir) throw new UsageError('no output folder: the worker writes only where it is told', { option: 'outDir' });
  const outDir = path.resolve(request.outDir);
  return jobs.run({ jobId, method: 'quantize', folder: outDir, onCancel: onCancel(token) }, async (opts) => {
    const started = performance.now();
    let manifestPath: string;
    let manifest: Manifest;
    let built: string[] = [];
    let skipped: string[] = [];
    let gateFailures: string[] | null = null;
    try {
      ({ manifestPath, manifest, built, skipped } = await quantizeModel({ ...request, outDir }, opts));
    } catch (error) {
      // The gate failed after every artifact was made and measured: the manifest holds the verdicts.
      if (!(error instanceof QualityGateError)) throw error;
      opts.log?.(`quality gate: ${error.message}`);
      ({ path: manifestPath, manifest } = await readManifest(outDir));
      gateFailures = manifest.artifacts.filter((a) => a.quality?.gate?.passed === false).map((a) => a.id);
    }
    return { manifestPath, manifest, built, skipped, gateFailures, chartSvg: chartFor(manifest), totalMs: performance.now() - started };
  });
}

/** The size-vs-KLD chart of a manifest's evaluated artifacts, or null when none has a KLD. */
export function chartFor(manifest: Manifest): string | null {
  const points = manifest.artifacts
    .filter((a) => typeof a.quality?.kldMean === 'number')
    .map((a) => ({ label: a.id, sizeBytes: a.sizeBytes, kldMean: a.quality!.kldMean!, strategy: a.strategy, imatrix: a.imatrix }));
  if (!points.length) return null;
  return qualityChartSvg(points, { title: `${manifest.model}: file size vs. mean KL divergence against F16` });
}

async function verify(params: VerifyParams, opts: JobOptions): Promise<VerifyResult> {
  const report = await verifyManifest(params.manifest, { ...opts, hashes: params.hashes, subjects: params.artifacts });
  return { manifestPath: report.manifestPath, filesChecked: report.filesChecked, hashed: params.hashes, problems: report.problems };
}

/** The folder an evaluation writes into: the manifest's, or none for a bare .gguf. */
async function manifestFolderOf(input: string): Promise<string | null> {
  if (input.toLowerCase().endsWith('.gguf')) return null;
  return path.dirname((await readManifest(input)).path);
}
