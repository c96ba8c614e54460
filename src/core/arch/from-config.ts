/**
 * ArchitectureInfo from a config.json, by configuration fields and model_type semantics only:
 * never by the model's name. The same rules must hold on configs never seen before, so every
 * quantity is read under all the names model families use for it, and an unknown model_type
 * gets a best-effort result with a warning rather than an error.
 */
import { FormatError } from '../errors';
import type { HfConfig, JsonObject } from '../hf/config';
import { isJsonObject } from '../hf/config';
import { languageConfig } from './class-defaults';
import { boolField, countField, numberField, objectField, positiveInt, stringArrayField, stringField } from './config-fields';
import {
  CONTEXT_KEYS,
  HEAD_DIM_KEYS,
  HEAD_KEYS,
  HIDDEN_KEYS,
  KV_HEAD_KEYS,
  LAYER_KEYS,
  MTP_KEYS,
  VOCAB_KEYS,
  checkConfigHyperparameters,
} from './config-hyperparameters';
import { impliedTensors } from './implied-tensors';
import { detectLayerLayout } from './layers';
import { type ModelTypeTraits, resolveTraits } from './model-types';
import { detectFfnLayout } from './moe';
import { countTensorParameters } from './parameters';
import type { ArchitectureInfo, AttentionKind, MlaInfo, ModelFamily, RopeInfo, SourceQuantization } from './types';

export function detectFromConfig(config: HfConfig, source: string): ArchitectureInfo {
  if (!isJsonObject(config)) throw new FormatError('config.json must be a JSON object', { path: source });
  const { config: text, modelType, defaulted } = languageConfig(config);
  // Before anything loops over layers or experts: every count within its limit, every value meaningful.
  checkConfigHyperparameters(text, source);
  const warnings: string[] = [];
  const traits = resolveTraits(text, modelType);
  noteUnknownType(text, modelType, traits, warnings);
  if (defaulted.length) warnings.push(`config.json omits ${defaulted.join(', ')}; taken from the ${modelType} config class defaults`);

  const dims = readDimensions(text, source, traits, warnings);
  const mla = readMla(text, dims.hiddenSize, dims.numAttentionHeads);
  const attentionFree = dims.numAttentionHeads === 0;
  const kvHeads = mla ? null : attentionFree ? 0 : readKvHeads(text, dims.numAttentionHeads, traits.known ? [] : warnings);
  const headDim = mla
    ? mla.qkNopeHeadDim + mla.qkRopeHeadDim
    : attentionFree
      ? 0
      : readHeadDim(text, dims.hiddenSize, dims.numAttentionHeads, warnings);
  const layout = detectLayerLayout(text, traits, dims.numLayers, dims.contextLength, warnings);
  const ffn = detectFfnLayout(text, modelType, layout.layerTypes, layout.hybridPattern, dims.hiddenSize, warnings, traits.ssmOnly);
  const hybrid = layout.attentionPattern === 'hybrid';
  const family: ModelFamily = ffn.moe ? (hybrid ? 'hybrid_moe' : 'moe') : hybrid ? 'hybrid' : 'dense';
  noteExcludedParts(config, text, warnings);

  const info: ArchitectureInfo = {
    source,
    modelType,
    architectures: stringArrayField(text, ['architectures']) ?? [],
    family,
    attention: attentionKind(mla, dims.numAttentionHeads, kvHeads),
    numLayers: dims.numLayers,
    hiddenSize: dims.hiddenSize,
    intermediateSize: ffn.denseIntermediateSize,
    numAttentionHeads: dims.numAttentionHeads,
    numKeyValueHeads: kvHeads,
    headDim,
    gqaRatio: kvHeads === null || kvHeads === 0 ? null : dims.numAttentionHeads / kvHeads,
    contextLength: dims.contextLength,
    vocabSize: dims.vocabSize,
    slidingWindow: layout.slidingWindow,
    attentionPattern: layout.attentionPattern,
    layerTypes: layout.layerTypes,
    moe: ffn.moe,
    mla,
    tiedEmbeddings: readTied(text, modelType, traits, warnings),
    rope: readRope(text, headDim, mla),
    attentionSinks: traits.attentionSinks || boolField(text, ['attention_sinks', 'use_attention_sink', 'use_sink']) === true,
    finalLogitSoftcap: numberField(text, ['final_logit_softcapping']) ?? null,
    sourceQuantization: readSourceQuantization(text),
    dtype: stringField(text, ['torch_dtype', 'dtype']) ?? null,
    parameters: { total: 0, active: 0 },
    parametersSource: 'computed',
    warnings,
  };
  info.parameters = countTensorParameters(impliedTensors(info, config), info.moe);
  return info;
}

interface Dimensions {
  numLayers: number;
  hiddenSize: number;
  numAttentionHeads: number;
  contextLength: number;
  vocabSize: number;
}

function readDimensions(config: HfConfig, source: string, traits: ModelTypeTraits, warnings: string[]): Dimensions {
  const required = (what: string, keys: string[]): number => {
    const v = positiveInt(config, keys);
    if (v === undefined) {
      throw new FormatError(`config.json has no ${what} (looked for ${keys.join(', ')}); is this a language model's config?`, {
        path: source,
      });
    }
    return v;
  };
  const hiddenSize = required('hidden size', HIDDEN_KEYS);
  const numLayers = required('layer count', LAYER_KEYS);
  const numAttentionHeads = traits.ssmOnly
    ? 0
    : (positiveInt(config, HEAD_KEYS) ?? headsFromHeadDim(config, hiddenSize, warnings) ?? required('attention head count', HEAD_KEYS));
  if (traits.ssmOnly) warnings.push('a pure state-space model: no attention layers');
  const contextLength = positiveInt(config, CONTEXT_KEYS) ?? 0;
  if (contextLength === 0 && !traits.ssmOnly)
    warnings.push(`no context length in the config (looked for ${CONTEXT_KEYS.slice(0, 4).join(', ')}...); reported as 0`);
  const vocabSize = positiveInt(config, VOCAB_KEYS) ?? 0;
  if (vocabSize === 0) warnings.push('no vocab_size in the config; embeddings are not counted');
  return { numLayers, hiddenSize, numAttentionHeads, contextLength, vocabSize };
}

/** Best effort for a config that gives a head size but no head count. */
function headsFromHeadDim(config: HfConfig, hidden: number, warnings: string[]): number | undefined {
  const headDim = positiveInt(config, HEAD_DIM_KEYS);
  if (headDim === undefined || hidden % headDim !== 0) return undefined;
  warnings.push(`no attention head count in the config; assumed hidden_size / head_dim = ${hidden / headDim}`);
  return hidden / headDim;
}

function readKvHeads(config: HfConfig, heads: number, warnings: string[]): number {
  const explicit = positiveInt(config, KV_HEAD_KEYS);
  if (explicit !== undefined) return explicit;
  // ChatGLM: multi_query_attention with multi_query_group_num KV groups.
  if (boolField(config, ['multi_query_attention']) === true) return positiveInt(config, ['multi_query_group_num']) ?? 1;
  if (boolField(config, ['multi_query']) === true) return 1;
  // Known config classes default the KV heads to the query heads (GPT-2 style configs never name
  // them); only for an unknown type is that an assumption worth a warning.
  if (!('n_head' in config)) warnings.push(`no key/value head count in the config; assumed ${heads} (multi-head attention)`);
  return heads;
}

function readHeadDim(config: HfConfig, hidden: number, heads: number, warnings: string[]): number {
  const explicit = positiveInt(config, HEAD_DIM_KEYS);
  if (explicit !== undefined) return explicit;
  if (hidden % heads !== 0) warnings.push(`hidden size ${hidden} is not a multiple of ${heads} heads; head_dim rounded down`);
  return Math.floor(hidden / heads);
}

/** Multi-head latent attention: present when the config has a KV low-rank projection. */
function readMla(config: HfConfig, hidden: number, heads: number): MlaInfo | null {
  const kvLoraRank = positiveInt(config, ['kv_lora_rank']);
  if (kvLoraRank === undefined) return null;
  const rope = positiveInt(config, ['qk_rope_head_dim']) ?? 64;
  const qkHead = positiveInt(config, ['qk_head_dim']);
  const nope = positiveInt(config, ['qk_nope_head_dim']) ?? (qkHead ? qkHead - rope : Math.floor(hidden / heads));
  return {
    qLoraRank: positiveInt(config, ['q_lora_rank']) ?? null,
    kvLoraRank,
    qkNopeHeadDim: nope,
    qkRopeHeadDim: rope,
    vHeadDim: positiveInt(config, ['v_head_dim']) ?? nope,
  };
}

function attentionKind(mla: MlaInfo | null, heads: number, kvHeads: number | null): AttentionKind {
  if (mla || kvHeads === null) return 'mla';
  if (kvHeads === heads) return 'mha';
  if (kvHeads === 1) return 'mqa';
  return 'gqa';
}

function readTied(config: HfConfig, modelType: string, traits: ModelTypeTraits, warnings: string[]): boolean {
  const explicit = boolField(config, ['tie_word_embeddings', 'tie_embeddings']);
  if (explicit !== undefined) return explicit;
  if (!traits.known)
    warnings.push(
      `no tie_word_embeddings in the config of unknown type "${modelType}"; assumed ${traits.tiedDefault} (the transformers default)`,
    );
  return traits.tiedDefault;
}

function readRope(config: HfConfig, headDim: number, mla: MlaInfo | null): RopeInfo {
  const theta =
    numberField(config, ['rope_theta', 'rope_parameters.rope_theta', 'rotary_emb_base', 'rope_base', 'attn_config.rope_theta']) ??
    numberField(config, ['rope_parameters.full_attention.rope_theta']) ??
    null;
  const scaling = objectField(config, ['rope_scaling']) ?? nonDefaultRope(objectField(config, ['rope_parameters'])) ?? null;
  const rotaryDim = positiveInt(config, ['rotary_dim', 'rope_dim']);
  const partial =
    numberField(config, ['partial_rotary_factor', 'rope_parameters.partial_rotary_factor', 'rotary_pct']) ??
    (rotaryDim !== undefined && headDim > 0 ? rotaryDim / headDim : undefined) ??
    (mla ? mla.qkRopeHeadDim / (mla.qkNopeHeadDim + mla.qkRopeHeadDim) : 1);
  return { theta, scaling: scaling ? { ...scaling } : null, partialRotaryFactor: partial };
}

/** transformers v5 `rope_parameters`: a scaling object only when some rope_type is not "default". */
function nonDefaultRope(params: JsonObject | undefined): JsonObject | undefined {
  if (!params) return undefined;
  const types: string[] = [];
  const collect = (o: JsonObject) => {
    const t = o.rope_type ?? o.type;
    if (typeof t === 'string') types.push(t);
  };
  collect(params);
  for (const v of Object.values(params)) if (isJsonObject(v)) collect(v);
  return types.some((t) => t !== 'default') ? params : undefined;
}

/** Quantization already applied to the source weights (quantization_config / compression_config). */
export function readSourceQuantization(config: HfConfig): SourceQuantization | null {
  const q = objectField(config, ['quantization_config', 'compression_config']);
  if (!q) return null;
  const method = stringField(q, ['quant_method', 'quant_algo', 'quantization', 'format']) ?? 'unknown';
  return { method: quantizationMethod(method.toLowerCase(), q), details: { ...q } };
}

function quantizationMethod(method: string, q: JsonObject): string {
  const text = JSON.stringify(q).toLowerCase();
  if (method === 'bitsandbytes') return boolField(q, ['load_in_4bit']) ? 'bnb-4bit' : 'bnb-8bit';
  if (method === 'compressed-tensors' || method === 'modelopt') {
    if (text.includes('nvfp4')) return 'nvfp4';
    if (text.includes('mxfp4')) return 'mxfp4';
    if (text.includes('float-quantized') || text.includes('"fp8"')) return 'fp8';
    if (text.includes('int-quantized') || text.includes('pack-quantized')) return 'int';
  }
  return method;
}

function noteUnknownType(config: HfConfig, modelType: string, traits: ModelTypeTraits, warnings: string[]): void {
  if (modelType === 'unknown') warnings.push('config.json has no model_type; detected from generic fields');
  else if (!traits.known) {
    const naming = 'n_embd' in config ? 'GPT-2' : 'Llama';
    warnings.push(`unknown model_type "${modelType}": detected from generic config fields with ${naming}-like defaults; check the result`);
  }
}

function noteExcludedParts(config: HfConfig, text: HfConfig, warnings: string[]): void {
  if (isJsonObject(config.vision_config) || isJsonObject(config.audio_config)) {
    warnings.push(
      `multimodal model (${String(config.model_type ?? 'wrapper')}): the language model is described; vision/audio towers are not counted`,
    );
  }
  const mtp = countField(text, MTP_KEYS) ?? 0;
  if (mtp > 0) warnings.push(`${mtp} multi-token-prediction layer(s) are not counted (not part of the language model)`);
}
