/**
 * planModel(input): detect the architecture, list the model's tensors the way the GGUF will hold
 * them, and plan. The tensor list comes from the best source at hand: a GGUF file's own tensor
 * infos, an HF checkpoint's safetensors headers through the converter's name map, or, for a bare
 * config (or an architecture the converter does not handle yet), the tensors the config implies.
 * A Hub repo id is planned from its cached snapshot, else from its config.json on the Hub.
 */
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { detectArchitecture } from '../arch/detect';
import { detectFromConfig } from '../arch/from-config';
import { impliedTensors } from '../arch/implied-tensors';
import type { ModelTensor } from '../arch/model-tensor';
import type { ArchitectureInfo } from '../arch/types';
import { modelTensorsFromSafetensors } from '../convert';
import { UnsupportedError, UsageError } from '../errors';
import { readGgufHeader } from '../formats/gguf';
import { hasSafetensorsWeights, openSafetensorsModel } from '../formats/safetensors';
import { type HfConfig, readConfigJson } from '../hf/config';
import type { HubAccess } from '../hf/hub-access';
import { cachedHubModelPath, fetchHubConfig } from '../hf/hub-model';
import { isHubRef } from '../hf/repo-ref';
import type { JobOptions } from '../job';
import { planQuantization } from './plan';
import type { PlanOptions, QuantPlan } from './types';

export type TensorOrigin = 'gguf' | 'weights' | 'config';

export interface ModelTensors {
  arch: ArchitectureInfo;
  tensors: ModelTensor[];
  origin: TensorOrigin;
  /** Why the list came from the config although weights exist, when it did. */
  note: string | null;
}

export interface LoadOptions extends JobOptions {
  /** How to reach the Hub when the input is a repo id; else the environment's. */
  hub?: HubAccess;
}

export async function loadModelTensors(input: string, opts: LoadOptions = {}): Promise<ModelTensors> {
  const info = await stat(input).catch(() => null);
  if (!info && isHubRef(input)) return loadHubModelTensors(input, opts);
  const arch = await detectArchitecture(input, { signal: opts.signal });
  if (info?.isFile() && input.toLowerCase().endsWith('.gguf')) {
    const file = await readGgufHeader(input);
    const tensors = file.tensors.map((t) => ({ name: t.name, shape: [...t.shape], hfName: null, sourceDtype: t.type }));
    return { arch, tensors, origin: 'gguf', note: null };
  }
  const dir = info?.isDirectory() ? input : info ? path.dirname(input) : null;
  if (!dir)
    throw new UsageError(`planning needs a local model: ${input} is not a folder, config.json or .gguf file (download the model first)`);
  const configPath = info?.isDirectory() ? path.join(dir, 'config.json') : input;
  if (!existsSync(configPath)) {
    // A folder without config.json that detection accepted holds a single GGUF.
    throw new UsageError(`${dir} has no config.json; pass the .gguf file itself`);
  }
  const config = await readConfigJson(configPath);
  const weightsHere = path.basename(configPath) === 'config.json' && hasSafetensorsWeights(dir);
  if (!weightsHere) return { arch, tensors: impliedTensors(arch, config), origin: 'config', note: null };
  return fromWeights(arch, config, dir);
}

/** A repo id: from its cached snapshot, else from the tensors its config.json (fetched) implies. */
async function loadHubModelTensors(input: string, opts: LoadOptions): Promise<ModelTensors> {
  const cached = await cachedHubModelPath(input, opts.hub);
  if (cached) {
    const loaded = await loadModelTensors(cached, opts);
    return { ...loaded, arch: { ...loaded.arch, source: input } };
  }
  const config = await fetchHubConfig(input, opts);
  const arch = detectFromConfig(config, input);
  const note =
    `planned from the tensors ${input}'s config.json implies ` + '(the weights are not downloaded; download the model to plan from them)';
  return { arch, tensors: impliedTensors(arch, config), origin: 'config', note };
}

async function fromWeights(arch: ArchitectureInfo, config: HfConfig, dir: string): Promise<ModelTensors> {
  const model = await openSafetensorsModel(dir);
  try {
    return { arch, tensors: modelTensorsFromSafetensors(arch, config, model), origin: 'weights', note: null };
  } catch (error) {
    if (!(error instanceof UnsupportedError)) throw error;
    const note = `planned from the tensors the config implies: ${error.message}`;
    return { arch, tensors: impliedTensors(arch, config), origin: 'config', note };
  }
}

export interface PlannedModel extends ModelTensors {
  plan: QuantPlan;
}

export async function planModel(input: string, options: PlanOptions, opts: LoadOptions = {}): Promise<PlannedModel> {
  const loaded = await loadModelTensors(input, opts);
  const plan = planQuantization(loaded.arch, loaded.tensors, { ...options, sourceIsGguf: loaded.origin === 'gguf' });
  if (loaded.note) plan.notes.unshift(loaded.note);
  return { ...loaded, plan };
}
