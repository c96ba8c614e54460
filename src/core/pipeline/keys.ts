/**
 * Inputs keys: a hash of everything an artifact is made from. Equal keys mean the artifact on disk
 * is what this run would make, so it is not rebuilt; any change (a source file, the plan, the
 * llama.cpp build, the imatrix) changes the key.
 */
import { createHash } from 'node:crypto';
import type { ManifestSource } from '../manifest/types';
import type { QuantPlan } from '../plan/types';

export function inputsKey(parts: Record<string, unknown>): string {
  return createHash('sha256').update(stableJson(parts)).digest('hex');
}

/** Hash of the source's content (names and hashes of its files). */
export function sourceKey(source: ManifestSource): string {
  return inputsKey({ kind: source.kind, files: source.files.map((f) => [f.path, f.sha256]) });
}

/** What a plan decides, independent of its wording: every tensor's GGUF type and MLX bits. */
export function planTypesKey(plan: QuantPlan): string {
  return inputsKey({
    target: plan.target,
    strategy: plan.strategy,
    types: plan.tensors.map((t) => [t.name, t.ggufType, t.mlx?.bits ?? 0, t.mlx?.groupSize ?? 0]),
  });
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}
