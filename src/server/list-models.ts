/**
 * `pajamas/listModels`: walks the workspace folders for models (folders with config.json and
 * *.safetensors, and .gguf files) and artifact folders (a Llama-Pajamas manifest.json), reading
 * directory listings, sizes and config.json's model_type only. An artifact folder is not searched
 * further (its .gguf files and MLX subfolders are its artifacts, not models of their own), nor is
 * a model folder. The Hugging Face cache comes from its own module.
 */
import type { Dirent } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { asPajamasError } from '../core/errors';
import { manifestRelative, readManifest } from '../core/manifest/io';
import { looksLikePajamasManifest } from '../core/manifest/identify';
import { MANIFEST_FILE, type Artifact } from '../core/manifest/types';
import type { ArtifactFolder, ArtifactItem, ModelListing, WorkspaceModel } from '../protocol/models';
import type { ListModelsParams } from '../protocol/worker';
import { listHfCache } from './hf-cache';

/** Folders deeper than this below a workspace folder are not searched. */
export const MAX_SCAN_DEPTH = 6;
/** Directory entries looked at per listing, all workspace folders together. */
export const MAX_SCAN_ENTRIES = 100_000;
/** A config.json larger than this is not read for its model_type. */
const MAX_CONFIG_BYTES = 1024 * 1024;
/** Never searched: dependency trees, VCS data, build outputs of common tools. */
const SKIPPED_DIRS = new Set(['node_modules', '__pycache__', 'dist', 'out', 'build', 'target', 'venv']);

interface Scan {
  workspace: WorkspaceModel[];
  artifacts: ArtifactFolder[];
  entries: number;
  truncated: boolean;
}

export async function listModels(params: ListModelsParams): Promise<ModelListing> {
  const started = performance.now();
  const scan: Scan = { workspace: [], artifacts: [], entries: 0, truncated: false };
  for (const folder of params.workspaceFolders) await scanDir(path.resolve(folder), 0, scan);
  const byPath = (a: { path: string }, b: { path: string }) => a.path.localeCompare(b.path);
  return {
    hfCache: params.hfCache ? await listHfCache() : null,
    workspace: scan.workspace.sort(byPath),
    artifacts: scan.artifacts.sort((a, b) => a.folder.localeCompare(b.folder)),
    truncated: scan.truncated,
    elapsedMs: performance.now() - started,
  };
}

async function scanDir(dir: string, depth: number, scan: Scan): Promise<void> {
  if (scan.entries >= MAX_SCAN_ENTRIES) {
    scan.truncated = true;
    return;
  }
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => [] as Dirent[]);
  scan.entries += entries.length;
  const files = new Set(entries.filter((e) => e.isFile()).map((e) => e.name));
  if (files.has(MANIFEST_FILE)) {
    const artifacts = await readArtifactFolder(dir);
    if (artifacts) {
      scan.artifacts.push(artifacts);
      return;
    }
  }
  const weights = [...files].filter((f) => f.endsWith('.safetensors') && !f.startsWith('.'));
  if (files.has('config.json') && weights.length) {
    const [modelType, sizeBytes] = await Promise.all([readModelType(path.join(dir, 'config.json')), totalSize(dir, weights)]);
    scan.workspace.push({ name: path.basename(dir), path: dir, kind: 'hf-folder', modelType, sizeBytes });
    return;
  }
  const ggufs = [...files].filter((f) => f.toLowerCase().endsWith('.gguf') && !f.startsWith('.'));
  for (const f of ggufs) {
    scan.workspace.push({ name: f, path: path.join(dir, f), kind: 'gguf', modelType: null, sizeBytes: await totalSize(dir, [f]) });
  }
  if (depth >= MAX_SCAN_DEPTH) {
    if (entries.some((e) => e.isDirectory())) scan.truncated = true;
    return;
  }
  // Sibling folders in parallel: a listing is many small reads, each waiting on the disk.
  const subdirs = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.') && !SKIPPED_DIRS.has(e.name));
  await Promise.all(subdirs.map((e) => scanDir(path.join(dir, e.name), depth + 1, scan)));
}

/** The artifact folder at `dir`, or null when its manifest.json belongs to something else. */
export async function readArtifactFolder(dir: string): Promise<ArtifactFolder | null> {
  const manifestPath = path.join(dir, MANIFEST_FILE);
  const text = await readFile(manifestPath, 'utf8').catch(() => null);
  if (text === null || !looksLikePajamasManifest(text)) return null;
  try {
    const { manifest } = await readManifest(manifestPath);
    const artifacts = await Promise.all(manifest.artifacts.map((a) => artifactItem(manifestPath, a)));
    return { folder: dir, manifestPath, model: manifest.model, artifacts, problem: null };
  } catch (error) {
    return { folder: dir, manifestPath, model: null, artifacts: [], problem: asPajamasError(error).message };
  }
}

async function artifactItem(manifestPath: string, a: Artifact): Promise<ArtifactItem> {
  const file = manifestRelative(manifestPath, a.path);
  const present = await stat(file).then(
    () => true,
    () => false,
  );
  const q = a.quality;
  return {
    id: a.id,
    path: file,
    format: a.format,
    target: a.target,
    strategy: a.strategy,
    imatrix: a.imatrix,
    sizeBytes: a.sizeBytes,
    bpw: a.bpw,
    quality: q ? { ppl: q.ppl, kldMean: q.kldMean, top1: q.top1, gatePassed: q.gate ? q.gate.passed : null } : null,
    present,
  };
}

async function readModelType(configPath: string): Promise<string | null> {
  try {
    if ((await stat(configPath)).size > MAX_CONFIG_BYTES) return null;
    const config = JSON.parse(await readFile(configPath, 'utf8')) as { model_type?: unknown; text_config?: { model_type?: unknown } };
    const type = config.text_config?.model_type ?? config.model_type;
    return typeof type === 'string' ? type : null;
  } catch {
    return null;
  }
}

async function totalSize(dir: string, files: string[]): Promise<number> {
  const sizes = await Promise.all(
    files.map((f) =>
      stat(path.join(dir, f)).then(
        (s) => s.size,
        () => 0,
      ),
    ),
  );
  return sizes.reduce((a, b) => a + b, 0);
}
