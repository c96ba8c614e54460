/**
 * detectArchitecture(input): the one entry point for "what is this model?". The input is a
 * Hugging Face model folder (config.json, plus safetensors weights when present), a config.json
 * path, a .gguf file, or a Hub repo id `owner/name` (its config.json is fetched). Inputs are
 * checked before any heavy work; only headers are read, never tensor data.
 */
import { downloadFile } from '@huggingface/hub';
import { existsSync, readdirSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { CancelledError, FailureError, UsageError, throwIfCancelled } from '../errors';
import { hasSafetensorsWeights, openSafetensorsModel } from '../formats/safetensors';
import { preflightGguf } from '../formats/gguf-preflight';
import { type HfConfig, parseConfigJson, readConfigJson, textConfig } from '../hf/config';
import { detectFromConfig } from './from-config';
import { detectFromGguf } from './from-gguf';
import { countSafetensorsParameters } from './parameters';
import type { ArchitectureInfo } from './types';

export interface DetectOptions {
  signal?: AbortSignal;
}

/** How long to wait for the Hub before calling it unreachable. */
export const HUB_TIMEOUT_MS = 20_000;
const HUB_REPO_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

/** `owner/name`, as the Hugging Face Hub names repositories (and no relative path). */
export function isHubRepoId(input: string): boolean {
  return HUB_REPO_ID.test(input) && !input.startsWith('.');
}

export async function detectArchitecture(input: string, opts: DetectOptions = {}): Promise<ArchitectureInfo> {
  if (!input.trim()) throw new UsageError('no model given; pass a model folder, a config.json, a .gguf file or a Hub repo id (owner/name)');
  throwIfCancelled(opts.signal);
  const info = await stat(input).catch(() => undefined);
  if (!info) {
    if (isHubRepoId(input)) return detectFromHub(input, opts);
    throw new UsageError(
      `no such file or folder: ${input}; pass a model folder, a config.json, a .gguf file or a Hub repo id (owner/name)`,
    );
  }
  if (info.isDirectory()) return detectFolder(input, opts);
  if (input.toLowerCase().endsWith('.gguf')) return detectFromGguf(await preflightGguf(input, opts), input);
  if (input.toLowerCase().endsWith('.json')) {
    const config = await readConfigJson(input);
    // A model folder's own config.json stands for the folder (weights included when present).
    const dir = path.dirname(input);
    if (path.basename(input) === 'config.json' && hasSafetensorsWeights(dir))
      return withWeights(detectFromConfig(config, input), config, dir, opts);
    return detectFromConfig(config, input);
  }
  throw new UsageError(`${input} is not a model folder, config.json or .gguf file`);
}

async function detectFolder(dir: string, opts: DetectOptions): Promise<ArchitectureInfo> {
  const configPath = path.join(dir, 'config.json');
  if (!existsSync(configPath)) {
    const ggufs = readdirSync(dir).filter((f) => f.toLowerCase().endsWith('.gguf') && !f.toLowerCase().startsWith('mmproj'));
    if (ggufs.length === 1) return detectFromGguf(await preflightGguf(path.join(dir, ggufs[0]!), opts), dir);
    const hint =
      ggufs.length > 1
        ? `it has ${ggufs.length} .gguf files; pass one of them`
        : 'pass a Hugging Face model folder, a config.json or a .gguf file';
    throw new FailureError(`${dir} has no config.json; ${hint}`, { path: dir });
  }
  const config = await readConfigJson(configPath);
  const info = detectFromConfig(config, dir);
  return hasSafetensorsWeights(dir) ? withWeights(info, config, dir, opts) : info;
}

/** Replaces the computed parameter count with one counted from the safetensors headers. */
async function withWeights(info: ArchitectureInfo, config: HfConfig, dir: string, opts: DetectOptions): Promise<ArchitectureInfo> {
  throwIfCancelled(opts.signal);
  const model = await openSafetensorsModel(dir);
  const counted = countSafetensorsParameters(model, textConfig(config), info.numLayers, info.tiedEmbeddings, info.moe);
  const warnings = [...info.warnings, ...counted.warnings];
  const computed = info.parameters.total;
  const drift = computed > 0 ? Math.abs(counted.parameters.total - computed) / computed : 0;
  // A large gap means the weights and the config disagree (or the config's structure was misread).
  if (drift > 0.03) {
    warnings.push(
      `the weights hold ${counted.parameters.total} parameters but the config implies ${computed}; the weights' count is reported`,
    );
  }
  return { ...info, parameters: counted.parameters, parametersSource: 'weights', warnings };
}

async function detectFromHub(repo: string, opts: DetectOptions): Promise<ArchitectureInfo> {
  const text = await fetchHubConfig(repo, opts);
  return detectFromConfig(parseConfigJson(text, `${repo}/config.json`), repo);
}

async function fetchHubConfig(repo: string, opts: DetectOptions): Promise<string> {
  const timeout = AbortSignal.timeout(HUB_TIMEOUT_MS);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  const accessToken = process.env.HF_TOKEN || process.env.HUGGING_FACE_HUB_TOKEN || undefined;
  let blob: Blob | null;
  try {
    blob = await downloadFile({
      repo,
      path: 'config.json',
      ...(accessToken ? { accessToken } : {}),
      ...(process.env.HF_ENDPOINT ? { hubUrl: process.env.HF_ENDPOINT } : {}),
      fetch: (url, init) => fetch(url, { ...init, signal }),
    });
  } catch (error) {
    if (opts.signal?.aborted) throw new CancelledError();
    const why = error instanceof Error ? error.message : String(error);
    const status = (error as { statusCode?: unknown }).statusCode;
    if (typeof status === 'number') {
      throw new FailureError(
        `the Hugging Face Hub answered ${status} for ${repo}/config.json: ${why} (check the repo id; gated repos need HF_TOKEN)`,
        { repo, status },
      );
    }
    throw new FailureError(
      `could not fetch ${repo}/config.json from the Hugging Face Hub (${why}); the Hub may be unreachable (offline?): pass a local model folder instead`,
      { repo },
      { cause: error },
    );
  }
  if (!blob)
    throw new FailureError(
      `${repo} has no config.json on the Hugging Face Hub (wrong repo id, or a private/gated repo without HF_TOKEN?)`,
      { repo },
    );
  return blob.text();
}
