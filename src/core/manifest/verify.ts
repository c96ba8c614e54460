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
}

export interface VerifyReport {
  manifestPath: string;
  manifest: Manifest;
  filesChecked: number;
  problems: VerifyProblem[];
}

export async function verifyManifest(input: string, opts: JobOptions = {}): Promise<VerifyReport> {
  const { path: manifestPath, manifest } = await readManifest(input);
  if (manifest.artifacts.length === 0) {
    // Nothing to compare is not "all match": an interrupted first run leaves such a manifest.
    throw new FormatError('/artifacts is empty: the manifest lists nothing to verify (an interrupted quantize? run it again)', {
      path: manifestPath,
    });
  }
  const checks: { subject: string; digest: FileDigest }[] = [];
  for (const a of manifest.artifacts) {
    if (a.format === 'gguf') checks.push({ subject: a.id, digest: { path: a.path, sizeBytes: a.sizeBytes, sha256: a.sha256 } });
    else for (const f of a.files) checks.push({ subject: a.id, digest: { ...f, path: `${a.path}/${f.path}` } });
  }
  if (manifest.calibration) checks.push({ subject: 'calibration', digest: manifest.calibration.imatrix });
  const baseline = manifest.baseline;
  if (baseline?.kept && baseline.sha256 && baseline.sizeBytes !== null) {
    checks.push({ subject: 'baseline', digest: { path: baseline.path, sizeBytes: baseline.sizeBytes, sha256: baseline.sha256 } });
  }
  const problems: VerifyProblem[] = [];
  for (const [i, { subject, digest }] of checks.entries()) {
    const message = await checkFile(manifestRelative(manifestPath, digest.path), digest, {
      ...opts,
      step: `verify ${i + 1}/${checks.length} ${digest.path}`,
    });
    if (message) problems.push({ subject, file: digest.path, message });
  }
  return { manifestPath, manifest, filesChecked: checks.length, problems };
}

/** null when the file matches, else what is wrong with it. */
export async function checkFile(file: string, digest: FileDigest, opts: JobOptions & { step?: string } = {}): Promise<string | null> {
  const info = await stat(file).catch(() => null);
  if (!info) return 'missing';
  if (!info.isFile()) return 'not a file';
  if (info.size !== digest.sizeBytes) return `size is ${info.size} bytes, the manifest says ${digest.sizeBytes}`;
  const sha = await sha256File(file, opts);
  return sha === digest.sha256 ? null : `sha256 is ${sha}, the manifest says ${digest.sha256}`;
}
