/**
 * What the runtime is asked to run: a manifest (validated against its schema; its artifacts are
 * the candidates) or a bare GGUF file (one candidate, described by its own header). Artifact files
 * are checked against the manifest (size, and SHA-256 unless the caller asks for the fast path)
 * right before loading, and only the artifact that is about to run.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { detectFromGguf } from '../arch/from-gguf';
import type { ArchitectureInfo } from '../arch/types';
import { FormatError, UnsupportedError, UsageError, throwIfCancelled } from '../errors';
import { hasGgufMagic, preflightGguf } from '../formats/gguf-preflight';
import type { JobOptions } from '../job';
import { manifestRelative, readManifest, resolveManifestPath } from '../manifest/io';
import { MANIFEST_FILE, MANIFEST_VERSION, type Artifact, type Manifest } from '../manifest/types';
import type { FitArtifact } from './artifact-choice';
import { cachedSha256, defaultHashCacheFile } from './hash-cache';

export interface ArtifactFile {
  /** Absolute path. */
  path: string;
  sizeBytes: number;
  sha256: string;
  /** The manifest field that records this file, e.g. "artifacts[1]" or "artifacts[2].files[0]". */
  field: string;
}

export interface RuntimeArtifact extends FitArtifact {
  /** GGUF file or MLX folder, absolute. */
  path: string;
  /** "Q4_K_M", "mlx-4bit", or the GGUF's file type for a bare file. */
  target: string | null;
  /** Files to check before loading; empty for a bare GGUF (there is nothing to compare with). */
  files: ArtifactFile[];
  /** The manifest entry, or null for a bare GGUF. */
  entry: Artifact | null;
}

export interface RuntimeTarget {
  kind: 'manifest' | 'gguf';
  /** The manifest file or the GGUF file, absolute. */
  path: string;
  model: string;
  architecture: ArchitectureInfo;
  artifacts: RuntimeArtifact[];
  manifest: Manifest | null;
}

/** 'full': size and SHA-256 (remembered per file while its size and mtime are unchanged); 'size': size only. */
export type VerifyMode = 'full' | 'size';

/** Reads a manifest (file or folder) or a bare GGUF. Cheap: headers and JSON only. */
export async function loadRuntimeTarget(input: string, opts: Pick<JobOptions, 'signal'> = {}): Promise<RuntimeTarget> {
  throwIfCancelled(opts.signal);
  const info = await stat(input).catch(() => null);
  if (!info) throw new UsageError(`${input} does not exist; pass a manifest.json, a folder holding one, or a .gguf file`);
  // A .gguf without the magic goes to the GGUF reader too, which says what is wrong with it.
  if (info.isFile() && (input.toLowerCase().endsWith('.gguf') || (await hasGgufMagic(input)))) return loadBareGguf(path.resolve(input));
  if (info.isDirectory() || input.toLowerCase().endsWith('.json')) return loadManifestTarget(input);
  throw new UsageError(
    `${input} is neither a GGUF file nor a ${MANIFEST_FILE}; pass a manifest.json, a folder holding one, or a .gguf file`,
  );
}

async function loadBareGguf(file: string): Promise<RuntimeTarget> {
  const header = await preflightGguf(file);
  const architecture = detectFromGguf(header, file);
  const tensorBytes = header.tensors.reduce((sum, t) => sum + t.byteLength, 0);
  const bpw = architecture.parameters.total > 0 ? (tensorBytes * 8) / architecture.parameters.total : null;
  const id = path.basename(file).replace(/\.gguf$/i, '');
  const artifact: RuntimeArtifact = {
    id,
    format: 'gguf',
    path: file,
    sizeBytes: header.fileSize,
    bpw,
    kldMean: null,
    gatePassed: null,
    target: architecture.dtype,
    files: [],
    entry: null,
  };
  return { kind: 'gguf', path: file, model: id, architecture, artifacts: [artifact], manifest: null };
}

/** A manifest from a newer Llama-Pajamas fails the schema; say so before the schema's words. */
async function rejectNewerManifest(input: string): Promise<void> {
  const file = await resolveManifestPath(input);
  let version: unknown;
  try {
    version = (JSON.parse(await readFile(file, 'utf8')) as { manifestVersion?: unknown }).manifestVersion;
  } catch {
    return; // readManifest reports unreadable or malformed files
  }
  if (typeof version === 'number' && version > MANIFEST_VERSION) {
    throw new UnsupportedError(
      `${file}: manifestVersion ${version} was written by a newer Llama-Pajamas ` +
        `(this one reads version ${MANIFEST_VERSION}); update Llama-Pajamas`,
      { path: file },
    );
  }
}

async function loadManifestTarget(input: string): Promise<RuntimeTarget> {
  await rejectNewerManifest(input);
  const { path: manifestPath, manifest } = await readManifest(input);
  if (!manifest.artifacts.length) {
    throw new FormatError('/artifacts is empty: the manifest lists nothing to run; quantize the model first', { path: manifestPath });
  }
  const artifacts = manifest.artifacts.map((a, i) => runtimeArtifact(manifestPath, a, i));
  return {
    kind: 'manifest',
    path: path.resolve(manifestPath),
    model: manifest.model,
    architecture: manifest.architecture,
    artifacts,
    manifest,
  };
}

function runtimeArtifact(manifestPath: string, a: Artifact, index: number): RuntimeArtifact {
  const abs = manifestRelative(manifestPath, a.path);
  const files: ArtifactFile[] =
    a.format === 'gguf'
      ? [{ path: abs, sizeBytes: a.sizeBytes, sha256: a.sha256, field: `artifacts[${index}]` }]
      : a.files.map((f, j) => ({
          path: path.join(abs, f.path),
          sizeBytes: f.sizeBytes,
          sha256: f.sha256,
          field: `artifacts[${index}].files[${j}]`,
        }));
  return {
    id: a.id,
    format: a.format,
    path: abs,
    sizeBytes: a.sizeBytes,
    bpw: a.bpw,
    kldMean: a.quality?.kldMean ?? null,
    gatePassed: a.quality?.gate?.passed ?? null,
    target: a.target,
    files,
    entry: a,
  };
}

export interface CheckArtifactOptions extends JobOptions {
  verify?: VerifyMode;
  /** Where remembered hashes live; null: hash every time. Default defaultHashCacheFile(). */
  hashCacheFile?: string | null;
}

/**
 * Throws a FormatError naming the file and the manifest field when an artifact file is missing,
 * has another size, or (verify 'full') another SHA-256 than the manifest records.
 */
export async function checkArtifactFiles(target: RuntimeTarget, artifact: RuntimeArtifact, opts: CheckArtifactOptions = {}): Promise<void> {
  const verify = opts.verify ?? 'full';
  const cacheFile = opts.hashCacheFile === undefined ? defaultHashCacheFile() : opts.hashCacheFile;
  const stale =
    `the file changed after ${MANIFEST_FILE} was written (a stale manifest) or is damaged; ` +
    're-create the artifact, or check with "pajamas verify"';
  for (const [i, f] of artifact.files.entries()) {
    throwIfCancelled(opts.signal);
    const where = { path: target.path };
    const info = await stat(f.path).catch(() => null);
    if (!info || !info.isFile()) {
      throw new FormatError(
        `artifact "${artifact.id}" (${f.field}.path): ${f.path} is missing; re-create the artifact or remove it from the manifest`,
        where,
      );
    }
    if (info.size !== f.sizeBytes) {
      throw new FormatError(
        `artifact "${artifact.id}" (${f.field}.sizeBytes): ${f.path} is ${info.size} bytes, the manifest says ${f.sizeBytes}; ${stale}`,
        where,
      );
    }
    if (verify === 'size') continue;
    const sha = await cachedSha256(f.path, cacheFile, { ...opts, step: `check ${artifact.id} ${i + 1}/${artifact.files.length}` });
    if (sha !== f.sha256) {
      throw new FormatError(
        `artifact "${artifact.id}" (${f.field}.sha256): ${f.path} has SHA-256 ${sha}, the manifest says ${f.sha256}; ${stale}`,
        where,
      );
    }
  }
}
