/**
 * `pajamas verify`: the manifest validates against the schema, and every file it lists exists
 * with the recorded size and SHA-256.
 */
import { stat } from 'node:fs/promises';
import { FormatError } from '../errors';
import { sha256File } from '../fs/hash';
import type { JobOptions } from '../job';
import { manifestRelative, readManifest } from './io';
import type { FileDigest, Manifest } from './types';

export interface VerifyProblem {
  /** Artifact id, or "baseline". */
  subject: string;
  file: string;
  message: string;
  /** Where the manifest names the file, as JSON pointer segments. */
  location: (string | number)[];
}

export interface VerifyReport {
  manifestPath: string;
  manifest: Manifest;
  filesChecked: number;
  problems: VerifyProblem[];
}

export interface VerifyOptions extends JobOptions {
  /** false: presence and sizes only, no re-hashing (the editor's quick check). Default true. */
  hashes?: boolean;
  /** Check only the files of these subjects (artifact ids, "baseline", "calibration"); default all. */
  subjects?: readonly string[];
}

export async function verifyManifest(input: string, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const { path: manifestPath, manifest } = await readManifest(input);
  if (manifest.artifacts.length === 0) {
    // Nothing to compare is not "all match": an interrupted first run leaves such a manifest.
    throw new FormatError('/artifacts is empty: the manifest lists nothing to verify (an interrupted quantize? run it again)', {
      path: manifestPath,
    });
  }
  const checks = manifestFileChecks(manifest).filter((c) => !opts.subjects || opts.subjects.includes(c.subject));
  const problems: VerifyProblem[] = [];
  for (const [i, { subject, digest, location }] of checks.entries()) {
    const message = await checkFile(manifestRelative(manifestPath, digest.path), digest, {
      ...opts,
      step: `verify ${i + 1}/${checks.length} ${digest.path}`,
    });
    if (message) problems.push({ subject, file: digest.path, message, location });
  }
  return { manifestPath, manifest, filesChecked: checks.length, problems };
}

export interface ManifestFileCheck {
  /** Artifact id, "calibration" or "baseline". */
  subject: string;
  digest: FileDigest;
  /** Where the file's path is recorded in the manifest, as JSON pointer segments. */
  location: (string | number)[];
}

/** Every file a manifest vouches for, with what it belongs to and where the manifest names it. */
export function manifestFileChecks(manifest: Manifest): ManifestFileCheck[] {
  const checks: ManifestFileCheck[] = [];
  manifest.artifacts.forEach((a, i) => {
    if (a.format === 'gguf')
      checks.push({
        subject: a.id,
        digest: { path: a.path, sizeBytes: a.sizeBytes, sha256: a.sha256 },
        location: ['artifacts', i, 'path'],
      });
    else
      a.files.forEach((f, j) =>
        checks.push({ subject: a.id, digest: { ...f, path: `${a.path}/${f.path}` }, location: ['artifacts', i, 'files', j, 'path'] }),
      );
  });
  if (manifest.calibration)
    checks.push({ subject: 'calibration', digest: manifest.calibration.imatrix, location: ['calibration', 'imatrix', 'path'] });
  const baseline = manifest.baseline;
  if (baseline?.kept && baseline.sha256 && baseline.sizeBytes !== null) {
    checks.push({
      subject: 'baseline',
      digest: { path: baseline.path, sizeBytes: baseline.sizeBytes, sha256: baseline.sha256 },
      location: ['baseline', 'path'],
    });
  }
  return checks;
}

/** null when the file matches, else what is wrong with it. */
export async function checkFile(file: string, digest: FileDigest, opts: VerifyOptions & { step?: string } = {}): Promise<string | null> {
  const info = await stat(file).catch(() => null);
  if (!info) return 'missing';
  if (!info.isFile()) return 'not a file';
  if (info.size !== digest.sizeBytes) return `size is ${info.size} bytes, the manifest says ${digest.sizeBytes}`;
  if (opts.hashes === false) return null;
  const sha = await sha256File(file, opts);
  return sha === digest.sha256 ? null : `sha256 is ${sha}, the manifest says ${digest.sha256}`;
}
