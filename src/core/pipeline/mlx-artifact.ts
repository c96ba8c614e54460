/**
 * The MLX artifact of a run: the plan's per-tensor MLX bits written by the TypeScript MLX writer
 * into `<model>-mlx-<bits>bit-<strategy>/`, every file hashed for the manifest.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { packageVersion } from '../assets';
import { sha256File } from '../fs/hash';
import type { JobOptions } from '../job';
import type { FileDigest, MlxArtifact } from '../manifest/types';
import { checkFile } from '../manifest/verify';
import { mlxPolicyFromPlan, writeMlxModel } from '../mlx';
import type { PlanTarget, QuantPlan } from '../plan/types';
import { inputsKey, planTypesKey } from './keys';

/**
 * The GGUF target of the same class as an MLX body width: the pajamas MLX plan follows that
 * target's decisions (a tensor raised to Q6_K there gets 6 bits here).
 */
export function mlxClassTarget(bits: number): PlanTarget {
  if (bits >= 8) return 'Q8_0';
  if (bits >= 6) return 'Q6_K';
  if (bits >= 5) return 'Q5_K_M';
  return 'Q4_K_M';
}

export interface MlxJob {
  hfDir: string;
  outDir: string;
  id: string;
  plan: QuantPlan;
  sourceKey: string;
  previous: MlxArtifact | null;
}

/** Writes the MLX artifact unless the previous one has the same inputs and intact files. */
export async function ensureMlxArtifact(job: MlxJob, opts: JobOptions = {}): Promise<{ artifact: MlxArtifact; built: boolean }> {
  const key = inputsKey({ source: job.sourceKey, plan: planTypesKey(job.plan), writer: packageVersion() });
  const dir = path.join(job.outDir, job.id);
  if (job.previous?.inputsKey === key && (await filesIntact(dir, job.previous.files))) {
    opts.log?.(`${job.id}/ is up to date`);
    return { artifact: job.previous, built: false };
  }
  const unplanned: string[] = [];
  const result = await writeMlxModel(job.hfDir, dir, mlxPolicyFromPlan(job.plan, unplanned), opts);
  if (unplanned.length) opts.log?.(`warning: the plan has no MLX decision for ${unplanned.join(', ')}; left unquantized`);
  const files = await digestFolder(dir, opts);
  const tensorBits: Record<string, number> = {};
  for (const w of result.weights) {
    const key = w.quant ? String(w.quant.bits) : 'keep';
    tensorBits[key] = (tensorBits[key] ?? 0) + 1;
  }
  const artifact: MlxArtifact = {
    id: job.id,
    format: 'mlx',
    path: job.id,
    target: `mlx-${job.plan.mlxDefault.bits}bit`,
    strategy: job.plan.strategy,
    imatrix: false,
    bits: job.plan.mlxDefault.bits,
    groupSize: job.plan.mlxDefault.groupSize,
    sizeBytes: files.reduce((n, f) => n + f.sizeBytes, 0),
    bpw: result.bitsPerWeight,
    files,
    tensorBits,
    inputsKey: key,
    createdAt: new Date().toISOString(),
    quality: null,
  };
  return { artifact, built: true };
}

async function digestFolder(dir: string, opts: JobOptions): Promise<FileDigest[]> {
  const names = (await readdir(dir)).sort();
  const files: FileDigest[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    const info = await stat(file);
    if (!info.isFile()) continue;
    files.push({ path: name, sizeBytes: info.size, sha256: await sha256File(file, { ...opts, step: `hash ${name}` }) });
  }
  return files;
}

async function filesIntact(dir: string, files: readonly FileDigest[]): Promise<boolean> {
  for (const f of files) if (await checkFile(path.join(dir, f.path), f)) return false;
  return true;
}
