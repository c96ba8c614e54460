/**
 * The importance matrix, computed with llama-imatrix on calibration text. For MoE models the
 * per-expert routed-token counts are read back from the imatrix GGUF; an expert that saw fewer
 * than MIN_EXPERT_TOKENS tokens in its layer, or under MIN_FRACTION_OF_MEAN of that layer's mean,
 * is under-covered, and another round of (different) calibration text is added on top until every
 * expert is covered or the text runs out, in which case the manifest says which experts were not.
 */
import { rename, rm, writeFile } from 'node:fs/promises';
import { readGgufHeader, readGgufTensorBytes } from '../formats/gguf';
import { preflightGguf } from '../formats/gguf-preflight';
import { tempPathFor } from '../fs/atomic';
import { sha256File } from '../fs/hash';
import type { JobOptions } from '../job';
import { runLlamaTool, type LlamaTools } from '../llamacpp';
import type { ExpertCoverage } from '../manifest/types';
import { calibrationRounds, type CalibrationText } from './calibration';

export const MIN_EXPERT_TOKENS = 32;
export const MIN_FRACTION_OF_MEAN = 0.1;
/** llama-imatrix's chunk length; it needs at least two chunks of text per round. */
export const IMATRIX_CONTEXT = 512;

export interface ImatrixRun {
  path: string;
  sha256: string;
  chunks: number;
  coverage: ExpertCoverage | null;
  /** llama-imatrix's own run time, summed over the rounds. */
  toolMs: number;
}

export interface ImatrixJob {
  tools: LlamaTools;
  /** The F16/BF16/F32 GGUF to run. */
  model: string;
  calibration: CalibrationText;
  outPath: string;
  isMoe: boolean;
}

export async function computeImatrix(job: ImatrixJob, opts: JobOptions = {}): Promise<ImatrixRun> {
  await preflightGguf(job.model, { signal: opts.signal });
  const rounds = calibrationRounds(job.calibration.text);
  const tmp = tempPathFor(job.outPath);
  const textFile = tempPathFor(`${job.outPath}.calibration.txt`);
  let coverage: ExpertCoverage | null = null;
  let chunks = 0;
  let toolMs = 0;
  try {
    for (const [i, roundText] of rounds.entries()) {
      await writeFile(textFile, roundText);
      const args = ['-m', job.model, '-f', textFile, '-o', tmp, '-c', String(IMATRIX_CONTEXT), '--no-ppl', '-ofreq', '1000000'];
      if (i > 0) args.push('--in-file', tmp);
      opts.onProgress?.({
        step: 'imatrix',
        done: i,
        total: rounds.length,
        unit: 'steps',
        message: i ? `top-up round ${i + 1}: ${describeGaps(coverage!)}` : 'calibration',
      });
      const result = await runLlamaTool('llama-imatrix', args, { tools: job.tools, signal: opts.signal, log: opts.log });
      toolMs += result.durationMs;
      chunks = parseChunkCount(`${result.stdout}\n${result.stderr}`) ?? chunks;
      if (!job.isMoe) break;
      coverage = { ...(await readExpertCoverage(tmp)), rounds: i + 1 };
      if (coverage.underCovered.length === 0) break;
    }
    await rename(tmp, job.outPath);
  } finally {
    await rm(textFile, { force: true });
    await rm(tmp, { force: true });
  }
  return { path: job.outPath, sha256: await sha256File(job.outPath), chunks, coverage, toolMs };
}

function describeGaps(c: ExpertCoverage): string {
  return `${c.underCovered.length} expert(s) under-covered`;
}

/** llama-imatrix's chunk count: the GGUF's imatrix.chunk_count is authoritative, this is for logs. */
function parseChunkCount(output: string): number | null {
  const m = /computing over (\d+) chunks/.exec(output) ?? /(\d+) chunks/.exec(output);
  return m ? Number(m[1]) : null;
}

/** Reads `blk.N.ffn_*_exps.weight.counts` from an imatrix GGUF and applies the coverage rule. */
export async function readExpertCoverage(imatrixPath: string): Promise<Omit<ExpertCoverage, 'rounds'>> {
  const file = await readGgufHeader(imatrixPath);
  const perLayer = new Map<number, number[]>();
  for (const info of file.tensors) {
    const m = /^blk\.(\d+)\.ffn_(?:up|gate|down|gate_up)_exps\.weight\.counts$/.exec(info.name);
    if (!m || perLayer.has(Number(m[1]))) continue;
    const bytes = await readGgufTensorBytes(file, info);
    perLayer.set(Number(m[1]), Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)));
  }
  const layers = [...perLayer.keys()].sort((a, b) => a - b);
  const countsPerLayer = layers.map((l) => perLayer.get(l)!);
  return {
    countsPerLayer,
    underCovered: underCoveredExperts(layers, countsPerLayer),
    threshold: { minTokens: MIN_EXPERT_TOKENS, minFractionOfLayerMean: MIN_FRACTION_OF_MEAN },
  };
}

export function underCoveredExperts(layers: readonly number[], countsPerLayer: readonly number[][]): ExpertCoverage['underCovered'] {
  const out: ExpertCoverage['underCovered'] = [];
  countsPerLayer.forEach((counts, i) => {
    const mean = counts.reduce((a, b) => a + b, 0) / Math.max(1, counts.length);
    counts.forEach((tokens, expert) => {
      if (tokens < MIN_EXPERT_TOKENS || tokens < MIN_FRACTION_OF_MEAN * mean) out.push({ layer: layers[i]!, expert, tokens });
    });
  });
  return out;
}
