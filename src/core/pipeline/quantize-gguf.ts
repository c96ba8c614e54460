/**
 * One GGUF artifact: llama-quantize applies the plan (the pajamas plan as an explicit tensor-type
 * file; the naive plan is llama.cpp's own recipe), then the output is read back and every tensor
 * must hold exactly the planned type. A mismatch is an error, never patched after the fact, and
 * the output only gets its final name once it has passed.
 */
import { rename, rm, stat, writeFile } from 'node:fs/promises';
import { FailureError } from '../errors';
import { readGgufHeader } from '../formats/gguf';
import { hasGgufMagic, preflightGguf } from '../formats/gguf-preflight';
import { ggmlType } from '../formats/ggml-types';
import { tempPathFor } from '../fs/atomic';
import { sha256File } from '../fs/hash';
import type { JobOptions } from '../job';
import { runLlamaTool, type LlamaTools } from '../llamacpp';
import { tensorTypeOverrides } from '../plan/quantize-overrides';
import type { QuantPlan } from '../plan/types';

export interface GgufQuantizeJob {
  tools: LlamaTools;
  /** F16/BF16/F32 GGUF. */
  input: string;
  plan: QuantPlan;
  outPath: string;
  imatrixPath: string | null;
}

export interface QuantizedGguf {
  sizeBytes: number;
  sha256: string;
  tensorTypes: Record<string, number>;
  /** llama-quantize's own run time. */
  toolMs: number;
}

const MAX_LISTED_MISMATCHES = 8;

export async function quantizeByPlan(job: GgufQuantizeJob, opts: JobOptions = {}): Promise<QuantizedGguf> {
  const tmp = tempPathFor(job.outPath);
  const overridesFile = tempPathFor(`${job.outPath}.tensor-types.txt`);
  const step = `quantize ${job.plan.target} ${job.plan.strategy}${job.imatrixPath ? ' imatrix' : ''}`;
  const args: string[] = [];
  // llama-quantize aborts on some malformed inputs: both files are checked before it runs.
  await preflightGguf(job.input, { signal: opts.signal });
  if (job.imatrixPath && (await hasGgufMagic(job.imatrixPath))) await preflightGguf(job.imatrixPath, { signal: opts.signal, kind: 'data' });
  try {
    if (job.imatrixPath) args.push('--imatrix', job.imatrixPath);
    // llama-quantize refuses to change an already quantized tensor (MXFP4 experts at a K-quant target) unless told to.
    if (requantizes(job.plan)) args.push('--allow-requantize');
    if (job.plan.strategy === 'pajamas') {
      await writeFile(overridesFile, `${tensorTypeOverrides(job.plan).join('\n')}\n`);
      args.push('--tensor-type-file', overridesFile);
    }
    args.push(job.input, tmp, job.plan.target);
    const run = await runLlamaTool('llama-quantize', args, {
      tools: job.tools,
      signal: opts.signal,
      log: opts.log,
      onStdoutLine: (line) => {
        const m = /^\[\s*(\d+)\/\s*(\d+)\]/.exec(line);
        if (m) opts.onProgress?.({ step, done: Number(m[1]), total: Number(m[2]), unit: 'tensors' });
      },
    });
    const tensorTypes = await checkAgainstPlan(tmp, job.plan);
    const sha256 = await sha256File(tmp, { signal: opts.signal, onProgress: opts.onProgress, step: `hash ${step}` });
    const { size } = await stat(tmp);
    await rename(tmp, job.outPath);
    return { sizeBytes: size, sha256, tensorTypes, toolMs: run.durationMs };
  } finally {
    await rm(overridesFile, { force: true });
    await rm(tmp, { force: true });
  }
}

/** Whether the plan changes the type of a tensor that is already quantized in the input. */
export function requantizes(plan: QuantPlan): boolean {
  return plan.tensors.some((t) => t.ggufType !== t.sourceType && ggmlType(t.sourceType).quantized);
}

/** Every tensor of the file has the planned type, and the file holds exactly the planned tensors. */
export async function checkAgainstPlan(file: string, plan: QuantPlan): Promise<Record<string, number>> {
  const gguf = await readGgufHeader(file);
  const actual = new Map(gguf.tensors.map((t) => [t.name, t.type]));
  const problems: string[] = [];
  for (const t of plan.tensors) {
    const type = actual.get(t.name);
    if (type === undefined) problems.push(`${t.name}: missing from the file`);
    else if (type !== t.ggufType) problems.push(`${t.name}: planned ${t.ggufType}, file has ${type}`);
  }
  const planned = new Set(plan.tensors.map((t) => t.name));
  for (const name of actual.keys()) if (!planned.has(name)) problems.push(`${name}: in the file but not in the plan`);
  if (problems.length) {
    const listed = problems.slice(0, MAX_LISTED_MISMATCHES).join('; ');
    const more = problems.length > MAX_LISTED_MISMATCHES ? ` (and ${problems.length - MAX_LISTED_MISMATCHES} more)` : '';
    throw new FailureError(
      `llama-quantize's output does not match the ${plan.strategy} ${plan.target} plan: ${listed}${more}. The output was discarded; ` +
        `please report this (the plan's model of llama.cpp is out of date)`,
      { problems },
    );
  }
  const histogram: Record<string, number> = {};
  for (const type of actual.values()) histogram[type] = (histogram[type] ?? 0) + 1;
  return histogram;
}
