/**
 * Paths recorded in a manifest stay home. A manifest may come from the Hub or a colleague, so the
 * files it names are untrusted: every artifact path (and the imatrix and baseline paths) is
 * relative, normalised (no ".", "..", empty segments or backslashes) and, resolved with symlinks
 * followed, inside the manifest's folder. Anything else is a FormatError naming the field (a JSON
 * pointer) before any file it names is opened.
 */
import { lstat, realpath } from 'node:fs/promises';
import path from 'node:path';
import { FormatError } from '../errors';
import { MANIFEST_MAX_PATH_CHARS } from './limits';
import type { Manifest } from './types';

/** One path field of a manifest: where it is, what it says, and the folders it is relative to. */
export interface ManifestPathField {
  /** JSON pointer, e.g. "/artifacts/2/files/0/path". */
  field: string;
  /** As written in the manifest. */
  value: string;
  /** Segments from the manifest's folder to the file (an MLX file: the artifact folder, then the file). */
  relative: string[];
}

/** Every path field that names a file or folder of the manifest's own. */
export function manifestPathFields(manifest: Manifest): ManifestPathField[] {
  const fields: ManifestPathField[] = [];
  manifest.artifacts.forEach((a, i) => {
    fields.push({ field: `/artifacts/${i}/path`, value: a.path, relative: [a.path] });
    if (a.format === 'mlx') {
      a.files.forEach((f, j) => fields.push({ field: `/artifacts/${i}/files/${j}/path`, value: f.path, relative: [a.path, f.path] }));
    }
  });
  const imatrix = manifest.calibration?.imatrix;
  if (imatrix) fields.push({ field: '/calibration/imatrix/path', value: imatrix.path, relative: [imatrix.path] });
  if (manifest.baseline) fields.push({ field: '/baseline/path', value: manifest.baseline.path, relative: [manifest.baseline.path] });
  return fields;
}

/** Why `p` is not a relative, normalised path, or null when it is one. */
export function relativePathProblem(p: string): string | null {
  if (p.length === 0) return 'is empty';
  if (p.length > MANIFEST_MAX_PATH_CHARS)
    return `is ${p.length} characters long, more than ${MANIFEST_MAX_PATH_CHARS} (MANIFEST_MAX_PATH_CHARS)`;
  if (p.includes('\0')) return 'contains a NUL character';
  if (p.includes('\\')) return 'contains a backslash (paths in a manifest use "/")';
  if (path.posix.isAbsolute(p) || path.win32.isAbsolute(p)) return 'is absolute';
  const segments = p.split('/');
  if (segments.includes('..')) return 'climbs out with ".."';
  if (segments.some((s) => s === '' || s === '.')) return 'is not normalised (empty or "." segments)';
  return null;
}

/** Throws a FormatError for the first path field that is not relative and normalised (no file system access). */
export function checkManifestPathSyntax(manifest: Manifest, file: string): void {
  for (const f of manifestPathFields(manifest)) {
    const problem = relativePathProblem(f.value);
    if (problem) {
      throw new FormatError(
        `${f.field} ${JSON.stringify(f.value.slice(0, 200))} ${problem}; paths in a manifest name files inside its folder`,
        { path: file },
      );
    }
  }
}

/**
 * Throws a FormatError when a path field resolves outside the manifest's folder once symlinks are
 * followed (a symlinked file or folder pointing elsewhere). Only lstat/realpath are used: nothing is
 * opened. A path that does not exist is judged by its deepest existing folder.
 */
export async function checkManifestPathsInside(manifest: Manifest, file: string): Promise<void> {
  checkManifestPathSyntax(manifest, file);
  const home = await realpath(path.dirname(path.resolve(file)));
  for (const f of manifestPathFields(manifest)) {
    const resolved = await resolveExisting(path.join(home, ...f.relative));
    if (resolved !== home && !resolved.startsWith(home + path.sep)) {
      throw new FormatError(
        `${f.field} ${JSON.stringify(f.value)} resolves to ${resolved}, outside the manifest's folder (through a symlink); ` +
          `paths in a manifest name files inside its folder`,
        { path: file },
      );
    }
  }
}

/** The real path of `p`, or of its deepest existing ancestor with the rest appended. */
async function resolveExisting(p: string): Promise<string> {
  const rest: string[] = [];
  let current = p;
  for (;;) {
    const exists = await lstat(current).then(
      () => true,
      () => false,
    );
    if (exists) return path.join(await realpath(current), ...rest.reverse());
    const parent = path.dirname(current);
    if (parent === current) return p;
    rest.push(path.basename(current));
    current = parent;
  }
}
