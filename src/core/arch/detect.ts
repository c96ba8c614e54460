/**
 * detectArchitecture(input): the one entry point for "what is this model?". The input is a
 * Hugging Face model folder (config.json, plus safetensors weights when present), a config.json
 * path, a .gguf file, or a Hub repo id `owner/name[@revision]` (its cached snapshot when there is
 * one, else its config.json from the Hub). Inputs are checked before any heavy work; only headers
 * are read, never tensor data.
 */
import { existsSync, readdirSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { FailureError, UsageError, throwIfCancelled } from '../errors';
import { hasSafetensorsWeights, openSafetensorsModel } from '../formats/safetensors';
import { preflightGguf } from '../formats/gguf-preflight';
import { type HfConfig, readConfigJson, textConfig } from '../hf/config';
import type { HubAccess } from '../hf/hub-access';
import { cachedHubModelPath, fetchHubConfig } from '../hf/hub-model';
import { isHubRef } from '../hf/repo-ref';
import { detectFromConfig } from './from-config';
import { detectFromGguf } from './from-gguf';
import { countSafetensorsParameters } from './parameters';
import type { ArchitectureInfo } from './types';

export interface DetectOptions {
  signal?: AbortSignal;
  /** How to reach the Hub when the input is a repo id; else the environment's. */
  hub?: HubAccess;
}

export async function detectArchitecture(input: string, opts: DetectOptions = {}): Promise<ArchitectureInfo> {
  if (!input.trim()) throw new UsageError('no model given; pass a model folder, a config.json, a .gguf file or a Hub repo id (owner/name)');
  throwIfCancelled(opts.signal);
  const info = await stat(input).catch(() => undefined);
  if (!info) {
    if (isHubRef(input)) return detectFromHub(input, opts);
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

/** A repo id: its cached snapshot when complete (the weights give exact counts), else its config from the Hub. */
async function detectFromHub(input: string, opts: DetectOptions): Promise<ArchitectureInfo> {
  const cached = await cachedHubModelPath(input, opts.hub);
  if (cached) return { ...(await detectFolder(cached, opts)), source: input };
  return detectFromConfig(await fetchHubConfig(input, opts), input);
}
