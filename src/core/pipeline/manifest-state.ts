/**
 * The manifest as a run builds it: opened from the previous run when it describes the same source,
 * updated artifact by artifact, and saved after each step, so a run that is killed half-way leaves a
 * valid manifest of what was finished and the next run resumes from it.
 */
import { existsSync } from 'node:fs';
import type { Logger } from '../job';
import { readManifest, writeManifest } from '../manifest/io';
import type { Artifact, Manifest, PlanRecord, TensorFallback } from '../manifest/types';
import type { QuantPlan } from '../plan/types';
import { sourceKey } from './keys';

export class ManifestState {
  private constructor(
    readonly file: string,
    public manifest: Manifest,
    /** The previous run's manifest when it was for the same source content. */
    readonly previous: Manifest | null,
  ) {}

  /** Starts from `fresh`, carrying over the previous manifest's artifacts when the source is unchanged. */
  static open(file: string, fresh: Manifest, previous: Manifest | null, log: Logger): ManifestState {
    if (previous && sourceKey(previous.source) !== sourceKey(fresh.source)) {
      const stale = previous.artifacts.map((a) => a.path).join(', ');
      log(`the source model changed since ${file} was written; its artifacts (${stale || 'none'}) are no longer listed`);
      previous = null;
    }
    const manifest: Manifest = previous
      ? {
          ...fresh,
          createdAt: previous.createdAt,
          artifacts: previous.artifacts,
          calibration: previous.calibration,
          baseline: previous.baseline,
        }
      : fresh;
    return new ManifestState(file, manifest, previous);
  }

  artifact(id: string): Artifact | undefined {
    return this.manifest.artifacts.find((a) => a.id === id);
  }

  upsertArtifact(artifact: Artifact): void {
    const i = this.manifest.artifacts.findIndex((a) => a.id === artifact.id);
    if (i >= 0) this.manifest.artifacts[i] = artifact;
    else this.manifest.artifacts.push(artifact);
  }

  /** Picks up what another writer (the evaluation) recorded in the file. */
  async reload(): Promise<void> {
    this.manifest = (await readManifest(this.file)).manifest;
  }

  async save(): Promise<void> {
    this.manifest.updatedAt = new Date().toISOString();
    await writeManifest(this.file, this.manifest);
  }
}

/** The manifest a previous run left in the folder, or null (a broken one is reported and ignored). */
export async function readPreviousManifest(file: string, log: Logger): Promise<Manifest | null> {
  if (!existsSync(file)) return null;
  try {
    return (await readManifest(file)).manifest;
  } catch (error) {
    log(`warning: ignoring the existing ${file}: ${(error as Error).message}`);
    return null;
  }
}

export function planRecord(plan: QuantPlan): PlanRecord {
  const kindTypes: Record<string, Record<string, number>> = {};
  for (const t of plan.tensors) {
    const types = (kindTypes[t.kind] ??= {});
    types[t.ggufType] = (types[t.ggufType] ?? 0) + 1;
  }
  return {
    target: plan.target,
    strategy: plan.strategy,
    sizeBytes: plan.totals.sizeBytes,
    bpw: plan.totals.bpw,
    stockSizeBytes: plan.totals.stockSizeBytes,
    stockBpw: plan.totals.stockBpw,
    kindTypes,
    fallbacks: planFallbacks(plan),
  };
}

export function planFallbacks(plan: QuantPlan): TensorFallback[] {
  return plan.tensors
    .filter((t) => t.fallback)
    .map((t) => ({ tensor: t.name, wanted: t.fallback!.wanted, actual: t.ggufType, reason: t.fallback!.reason }));
}
