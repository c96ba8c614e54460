/**
 * Which artifact to run: rank by quality (lowest mean KL divergence against F16 when every
 * candidate was measured, otherwise most bits per weight; artifacts that failed the quality gate
 * last), then take the first whose memory estimate fits the free memory. When none fits, the
 * explanation lists what each would need and the largest context with which the smallest fits.
 */
import type { ArchitectureInfo } from '../arch/types';
import { formatBytes } from '../units';
import { type MemoryEstimate, type MemoryOptions, estimateMemory, maxContextThatFits } from './memory-fit';

/** What the choice needs to know about an artifact (RuntimeArtifact has all of it). */
export interface FitArtifact {
  id: string;
  format: 'gguf' | 'mlx';
  sizeBytes: number;
  bpw: number | null;
  kldMean: number | null;
  /** false when the artifact failed its quality gate; null when it was not gated. */
  gatePassed: boolean | null;
}

export interface MemoryBudget {
  /** Available system RAM. */
  ramBytes: number;
  /** Free memory of the GPU the backend would use; 0 without one. */
  vramBytes: number;
  /** The GPU shares system RAM (Apple Silicon): vramBytes is part of ramBytes, not extra. */
  unified: boolean;
}

/** gpu: everything in VRAM; split: some layers stay in RAM; cpu: no GPU. */
export type Placement = 'gpu' | 'split' | 'cpu';

export interface FitCandidate<A extends FitArtifact = FitArtifact> {
  artifact: A;
  estimate: MemoryEstimate;
  /** null: does not fit. */
  placement: Placement | null;
  /** The largest context that would fit (0: not even the weights fit). */
  maxContext: number;
}

export interface FitChoice<A extends FitArtifact = FitArtifact> {
  chosen: FitCandidate<A> | null;
  /** All candidates, best quality first. */
  ranked: FitCandidate<A>[];
  /** The user named the artifact: it is chosen even when it does not fit. */
  forced: boolean;
  explanation: string;
}

/** Best quality first (see the file comment). */
export function rankByQuality<A extends FitArtifact>(artifacts: readonly A[]): A[] {
  const allMeasured = artifacts.every((a) => a.kldMean !== null);
  const gateRank = (a: A) => (a.gatePassed === false ? 1 : 0);
  const kld = (a: A) => a.kldMean ?? Number.POSITIVE_INFINITY;
  const bpw = (a: A) => a.bpw ?? Number.NEGATIVE_INFINITY;
  return [...artifacts].sort((a, b) => {
    const gate = gateRank(a) - gateRank(b);
    if (gate !== 0) return gate;
    const primary = allMeasured ? kld(a) - kld(b) : bpw(b) - bpw(a);
    if (primary !== 0) return primary;
    return allMeasured ? bpw(b) - bpw(a) : kld(a) - kld(b);
  });
}

/** Where an estimate fits within a budget, or null. */
export function placementFor(totalBytes: number, budget: MemoryBudget): Placement | null {
  if (budget.vramBytes > 0 && budget.unified) return totalBytes <= Math.max(budget.vramBytes, budget.ramBytes) ? 'gpu' : null;
  if (budget.vramBytes > 0) {
    if (totalBytes <= budget.vramBytes) return 'gpu';
    return totalBytes <= budget.vramBytes + budget.ramBytes ? 'split' : null;
  }
  return totalBytes <= budget.ramBytes ? 'cpu' : null;
}

/** All the memory a model may use under this budget. */
export function usableBytes(budget: MemoryBudget): number {
  if (budget.vramBytes > 0 && budget.unified) return Math.max(budget.vramBytes, budget.ramBytes);
  return budget.vramBytes + budget.ramBytes;
}

export function chooseArtifact<A extends FitArtifact>(
  artifacts: readonly A[],
  arch: ArchitectureInfo,
  budget: MemoryBudget,
  opts: MemoryOptions & { artifactId?: string },
): FitChoice<A> {
  const ranked = rankByQuality(artifacts).map((artifact): FitCandidate<A> => {
    const estimate = estimateMemory(arch, artifact.sizeBytes, opts);
    const maxContext = maxContextThatFits(arch, artifact.sizeBytes, usableBytes(budget), opts);
    return { artifact, estimate, placement: placementFor(estimate.totalBytes, budget), maxContext };
  });
  if (opts.artifactId !== undefined) {
    const chosen = ranked.find((c) => c.artifact.id === opts.artifactId) ?? null;
    const explanation = chosen
      ? `${describeCandidate(chosen, budget)} (chosen by name${chosen.placement ? '' : '; it may not fit, trying anyway'})`
      : `no artifact "${opts.artifactId}"; the manifest has ${artifacts.map((a) => a.id).join(', ') || 'none'}`;
    return { chosen, ranked, forced: true, explanation };
  }
  const chosen = ranked.find((c) => c.placement !== null) ?? null;
  return {
    chosen,
    ranked,
    forced: false,
    explanation: chosen ? explainChoice(chosen, ranked, budget) : explainNoFit(ranked, budget, opts.contextSize),
  };
}

function describeBudget(budget: MemoryBudget): string {
  if (budget.vramBytes > 0 && budget.unified) return `${formatBytes(usableBytes(budget))} free unified memory`;
  if (budget.vramBytes > 0) return `${formatBytes(budget.vramBytes)} free VRAM + ${formatBytes(budget.ramBytes)} free RAM`;
  return `${formatBytes(budget.ramBytes)} free RAM (no GPU)`;
}

function describeQuality(a: FitArtifact): string {
  const parts = [a.bpw !== null ? `${a.bpw.toFixed(2)} bpw` : null, a.kldMean !== null ? `KLD ${a.kldMean.toFixed(4)}` : null];
  if (a.gatePassed === false) parts.push('failed its quality gate');
  return parts.filter(Boolean).join(', ');
}

export function describeEstimate(e: MemoryEstimate): string {
  const parts = [`weights ${formatBytes(e.weightsBytes)}`, `KV cache ${formatBytes(e.kvCacheBytes)}`];
  if (e.stateBytes > 0) parts.push(`recurrent state ${formatBytes(e.stateBytes)}`);
  parts.push(`compute ${formatBytes(e.computeBytes)}`, `overhead ${formatBytes(e.overheadBytes)}`);
  return `${formatBytes(e.totalBytes)} (${parts.join(' + ')})`;
}

const PLACEMENT_TEXT: Record<Placement, string> = { gpu: 'on the GPU', split: 'split between GPU and CPU', cpu: 'on the CPU' };

function describeCandidate(c: FitCandidate, budget: MemoryBudget): string {
  const quality = describeQuality(c.artifact);
  const where = c.placement ? `; runs ${PLACEMENT_TEXT[c.placement]}` : '';
  const needs = `needs ${describeEstimate(c.estimate)} at ${c.estimate.contextSize} tokens of context`;
  return `${c.artifact.id}${quality ? ` (${quality})` : ''} ${needs}; ${describeBudget(budget)}${where}`;
}

function explainChoice(chosen: FitCandidate, ranked: FitCandidate[], budget: MemoryBudget): string {
  const skipped = ranked.slice(0, ranked.indexOf(chosen)).map((c) => `${c.artifact.id} (${formatBytes(c.estimate.totalBytes)})`);
  return `${describeCandidate(chosen, budget)}${skipped.length ? `. Better but too big: ${skipped.join(', ')}` : ''}`;
}

function explainNoFit(ranked: FitCandidate[], budget: MemoryBudget, contextSize: number): string {
  if (!ranked.length) return 'the manifest lists no artifact this backend can run';
  const lines = [`No artifact fits in ${describeBudget(budget)} with a ${contextSize}-token context:`];
  for (const c of ranked) lines.push(`  ${c.artifact.id}: needs ${describeEstimate(c.estimate)}`);
  const smallest = [...ranked].sort((a, b) => a.estimate.totalBytes - b.estimate.totalBytes)[0]!;
  const withContext = [...ranked].filter((c) => c.maxContext > 0).sort((a, b) => b.maxContext - a.maxContext);
  if (withContext.length) {
    const best = rankByQuality(withContext.map((c) => c.artifact))[0]!;
    const c = withContext.find((x) => x.artifact === best)!;
    lines.push(`${c.artifact.id} fits with a context of at most ${c.maxContext} tokens (--context-size ${c.maxContext}).`);
  } else {
    const short = smallest.estimate.totalBytes - usableBytes(budget);
    lines.push(
      `Even the smallest, ${smallest.artifact.id}, needs ${formatBytes(short)} more than is free: close other programs, ` +
        'or quantize to a smaller target (e.g. Q3_K_M).',
    );
  }
  return lines.join('\n');
}
