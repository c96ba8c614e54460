/**
 * The model a quantize run starts from: a Hugging Face folder, a Hub repo id (downloaded into the
 * shared HF cache, then read from its snapshot folder), or an F16/BF16/F32 GGUF (requantization).
 * Its files are hashed so unchanged inputs are recognised on the next run; a file whose size and
 * mtime match the previous manifest keeps its recorded hash, and a Hub file keeps the Hub's sha256.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { UnsupportedError, UsageError } from '../errors';
import { readGgufHeader } from '../formats/gguf';
import { isUnquantizedType } from '../formats/ggml-types';
import { hasSafetensorsWeights } from '../formats/safetensors';
import { sha256FilesInWorker } from '../fs/hash';
import { isTempPath } from '../fs/atomic';
import type { HubAccess } from '../hf/hub-access';
import { downloadHubModel } from '../hf/hub-download';
import { isHubRef, parseHubRef } from '../hf/repo-ref';
import type { JobOptions } from '../job';
import type { ManifestSource, SourceFile } from '../manifest/types';

export interface ModelSource {
  kind: 'hf-folder' | 'gguf';
  /** Absolute folder (hf-folder) or file (gguf). */
  path: string;
  /** Short name used in artifact names. */
  name: string;
  /** Set when the folder is a Hub snapshot. */
  hub?: HubOrigin;
}

export interface HubOrigin {
  repoId: string;
  revision: string;
  commit: string;
  /** sha256 of the files the Hub lists one for (LFS files), by path in the snapshot. */
  sha256: Record<string, string>;
}

export interface SourceOptions extends JobOptions {
  /** How to reach the Hub when the model is a repo id. */
  hub?: HubAccess;
}

export async function resolveModelSource(input: string, opts: SourceOptions = {}): Promise<ModelSource> {
  const abs = path.resolve(input);
  const info = await stat(abs).catch(() => null);
  if (!info) {
    if (isHubRef(input)) return hubSource(input, opts);
    throw new UsageError(`no such model folder or file: ${input}`);
  }
  if (info.isDirectory()) {
    const entries = await readdir(abs);
    if (!entries.includes('config.json'))
      throw new UsageError(`${abs} has no config.json: pass a Hugging Face model folder or an F16/BF16/F32 .gguf file`);
    if (!hasSafetensorsWeights(abs)) throw new UsageError(`${abs} has no .safetensors weights`);
    return { kind: 'hf-folder', path: abs, name: path.basename(abs) };
  }
  if (!abs.toLowerCase().endsWith('.gguf')) throw new UsageError(`${abs} is neither a model folder nor a .gguf file`);
  const file = await readGgufHeader(abs, { signal: opts.signal });
  const quantized = file.tensors.filter((t) => t.shape.length >= 2 && !isUnquantizedType(t.type));
  if (quantized.length) {
    throw new UnsupportedError(
      `${abs} is already quantized (${quantized[0]!.name} is ${quantized[0]!.type}); quantize from an F16, BF16 or F32 GGUF, or from ` +
        `the original model folder`,
    );
  }
  return { kind: 'gguf', path: abs, name: path.basename(abs, path.extname(abs)).replace(/[-_.](f16|bf16|f32)$/i, '') };
}

/** A repo id: the files a conversion needs, downloaded into the HF cache (or found there). */
async function hubSource(input: string, opts: SourceOptions): Promise<ModelSource> {
  const ref = parseHubRef(input);
  const snapshot = await downloadHubModel(ref, opts);
  const sha256 = Object.fromEntries(snapshot.files.filter((f) => f.sha256).map((f) => [f.path, f.sha256!]));
  const name = ref.repoId.slice(ref.repoId.indexOf('/') + 1);
  return {
    kind: 'hf-folder',
    path: snapshot.path,
    name,
    hub: { repoId: snapshot.repoId, revision: snapshot.revision, commit: snapshot.commit, sha256 },
  };
}

/**
 * The files of an HF folder that make the model (so that a README edit, or outputs written into the
 * folder, do not count as a changed model).
 */
function isModelFile(name: string): boolean {
  if (name.startsWith('.') || isTempPath(name)) return false;
  return name.endsWith('.safetensors') || MODEL_FILES.has(name) || /^tokenizer.*\.(json|model)$/.test(name);
}

const MODEL_FILES = new Set([
  'config.json',
  'generation_config.json',
  'model.safetensors.index.json',
  'special_tokens_map.json',
  'added_tokens.json',
  'chat_template.jinja',
  'chat_template.json',
]);

/**
 * The source's files with their hashes; reuses hashes whose size and mtime are unchanged and
 * computes the others on a worker thread, so callers can convert the model meanwhile.
 */
export async function describeSource(source: ModelSource, previous: ManifestSource | null, opts: JobOptions = {}): Promise<ManifestSource> {
  const dir = source.kind === 'gguf' ? path.dirname(source.path) : source.path;
  const names = source.kind === 'gguf' ? [path.basename(source.path)] : (await readdir(dir)).filter(isModelFile).sort();
  const known = new Map((previous?.path === source.path ? previous.files : []).map((f) => [f.path, f]));
  const files: SourceFile[] = [];
  const toHash: SourceFile[] = [];
  for (const name of names) {
    const info = await stat(path.join(dir, name));
    if (!info.isFile()) continue;
    const before = known.get(name);
    const unchanged = before && before.sizeBytes === info.size && before.mtimeMs === info.mtimeMs;
    const listed = source.hub?.sha256[name];
    const sha256 = listed ?? (unchanged ? before.sha256 : '');
    const file: SourceFile = { path: name, sizeBytes: info.size, mtimeMs: info.mtimeMs, sha256 };
    files.push(file);
    if (!sha256) toHash.push(file);
  }
  const digests = await sha256FilesInWorker(
    toHash.map((f) => path.join(dir, f.path)),
    opts.signal,
  );
  toHash.forEach((f, i) => (f.sha256 = digests[i]!));
  const { hub } = source;
  if (hub) return { kind: 'hub', path: source.path, repoId: hub.repoId, revision: hub.revision, commit: hub.commit, files };
  return { kind: source.kind, path: source.path, repoId: null, revision: null, files };
}
