/**
 * What a manifest must satisfy beyond its JSON Schema: every number finite (JSON.parse turns 1e999
 * into Infinity, which a schema's "number" does not exclude everywhere), artifact ids and paths
 * unique, the files of an MLX artifact listed once, and every path relative and normalised.
 */
import { FormatError } from '../errors';
import { checkManifestPathSyntax } from './paths';
import type { Manifest } from './types';

export function checkManifestContent(manifest: Manifest, file: string): void {
  const fail = (message: string): never => {
    throw new FormatError(`not a valid Llama-Pajamas manifest: ${message}`, { path: file });
  };
  const nonFinite = findNonFinite(manifest);
  if (nonFinite) fail(`${nonFinite} is not a finite number`);
  const ids = new Map<string, number>();
  const paths = new Map<string, number>();
  manifest.artifacts.forEach((a, i) => {
    const sameId = ids.get(a.id);
    if (sameId !== undefined) fail(`/artifacts/${i}/id "${a.id}" repeats /artifacts/${sameId}/id; each artifact is listed once`);
    ids.set(a.id, i);
    const samePath = paths.get(a.path);
    if (samePath !== undefined) fail(`/artifacts/${i}/path "${a.path}" repeats /artifacts/${samePath}/path; each artifact is listed once`);
    paths.set(a.path, i);
    if (a.format !== 'mlx') return;
    const files = new Map<string, number>();
    a.files.forEach((f, j) => {
      const same = files.get(f.path);
      if (same !== undefined) fail(`/artifacts/${i}/files/${j}/path "${f.path}" repeats /artifacts/${i}/files/${same}/path`);
      files.set(f.path, j);
    });
  });
  checkManifestPathSyntax(manifest, file);
}

/** The JSON pointer of the first non-finite number in `value`, or null (iterative: nesting depth is the file's choice). */
function findNonFinite(root: unknown): string | null {
  const stack: [unknown, string][] = [[root, '']];
  while (stack.length) {
    const [value, pointer] = stack.pop()!;
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) return pointer || '(top level)';
    } else if (value !== null && typeof value === 'object') {
      const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
      for (let k = entries.length - 1; k >= 0; k--) stack.push([entries[k]![1], `${pointer}/${entries[k]![0]}`]);
    }
  }
  return null;
}
