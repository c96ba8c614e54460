/**
 * GGUF hyperparameters (`<arch>.block_count`, `.attention.head_count[_kv]`, `.expert_count` ...)
 * checked by meaning (./hyperparameters) and against the tensors they describe
 * (./gguf-tensor-shapes). llama.cpp asserts on several of these (no key/value heads, more experts
 * per token than experts, a zero-sized FFN) and takes its process down with it; here they are
 * FormatErrors that name the file and the key, raised before any caller hands the file on.
 */
import { GgufValueType, ggufValueTypeName } from '../formats/gguf-constants';
import type { GgufFile, GgufKv } from '../formats/gguf-types';
import { type CountKindName } from './hyperparameter-limits';
import { HyperparameterChecker, type RealKindName, atLayer, ggufSource, maxOf } from './hyperparameters';
import { checkGgufTensorShapes } from './gguf-tensor-shapes';

/** llama.cpp's rope scaling names (LLAMA_ROPE_SCALING_TYPES). */
export const GGUF_ROPE_SCALING_TYPES = ['none', 'linear', 'yarn', 'longrope'] as const;

/** The checked values the tensor-shape rules need; per-layer values are lists. */
export interface GgufHyperparameters {
  arch: string;
  blockCount: number;
  embedding: number | undefined;
  ffn: number[] | number | undefined;
  heads: number[] | number | undefined;
  kvHeads: number[] | number | undefined;
  keyLength: number | undefined;
  valueLength: number | undefined;
  experts: number;
  expertFfn: number | undefined;
  sharedExpertFfn: number | undefined;
}

const REAL_KEYS: Record<string, RealKindName> = {
  'attention.layer_norm_rms_epsilon': 'epsilon',
  'attention.layer_norm_epsilon': 'epsilon',
  'rope.freq_base': 'ropeTheta',
  'rope.freq_base_swa': 'ropeTheta',
  'rope.scaling.factor': 'ropeFactor',
  attn_logit_softcapping: 'softcap',
  final_logit_softcapping: 'softcap',
};

const COUNT_KEYS: Record<string, CountKindName> = {
  context_length: 'context',
  vocab_size: 'vocab',
  'attention.key_length': 'headSize',
  'attention.value_length': 'headSize',
  'attention.key_length_mla': 'headSize',
  'attention.value_length_mla': 'headSize',
  'attention.sliding_window': 'window',
  'attention.kv_lora_rank': 'rank',
  'attention.q_lora_rank': 'rank',
  'rope.scaling.original_context_length': 'context',
  expert_feed_forward_length: 'ffn',
  expert_shared_feed_forward_length: 'ffn',
  expert_shared_count: 'experts',
};

/**
 * Checks the metadata of a model GGUF and its agreement with the tensor table. A file without
 * `general.architecture` or `<arch>.block_count` is left to the caller, which says what is missing.
 */
export function checkGgufHyperparameters(file: GgufFile): GgufHyperparameters | null {
  const archKv = file.metadata.get('general.architecture');
  if (archKv?.type !== GgufValueType.STRING) return null;
  const arch = archKv.value as string;
  const c = new HyperparameterChecker(ggufSource(file.path));
  const key = (k: string) => `${arch}.${k}`;
  const raw = (k: string) => rawValue(file, key(k), c);
  const blockCount = c.count(key('block_count'), raw('block_count'), 'layers');
  if (blockCount === undefined) return null;
  const nextn = c.count(key('nextn_predict_layers'), raw('nextn_predict_layers'), 'extraLayers');
  if (nextn !== undefined)
    c.atMost(
      { field: key('nextn_predict_layers'), value: nextn },
      { field: key('block_count'), value: blockCount },
      'they are part of the blocks',
    );
  for (const [suffix, kind] of Object.entries(COUNT_KEYS)) c.count(key(suffix), raw(suffix), kind);
  for (const [suffix, kind] of Object.entries(REAL_KEYS)) c.real(key(suffix), raw(suffix), kind);
  checkAllRealsFinite(file, arch, c);
  checkRopeScalingType(file, key('rope.scaling.type'), c);
  const h: GgufHyperparameters = {
    arch,
    blockCount,
    embedding: c.count(key('embedding_length'), raw('embedding_length'), 'hidden'),
    ffn: c.countOrPerLayer(key('feed_forward_length'), raw('feed_forward_length'), 'ffn', blockCount),
    heads: c.countOrPerLayer(key('attention.head_count'), raw('attention.head_count'), 'heads', blockCount),
    kvHeads: c.countOrPerLayer(key('attention.head_count_kv'), raw('attention.head_count_kv'), 'kvHeads', blockCount),
    keyLength: c.count(key('attention.key_length'), raw('attention.key_length'), 'headSize'),
    valueLength: c.count(key('attention.value_length'), raw('attention.value_length'), 'headSize'),
    experts: c.count(key('expert_count'), raw('expert_count'), 'experts') ?? 0,
    expertFfn: c.count(key('expert_feed_forward_length'), raw('expert_feed_forward_length'), 'ffn'),
    sharedExpertFfn: c.count(key('expert_shared_feed_forward_length'), raw('expert_shared_feed_forward_length'), 'ffn'),
  };
  checkHeads(h, key, c);
  checkExperts(h, key, raw, c);
  checkRopeDims(h, key, raw, c);
  checkGgufTensorShapes(file, h, c);
  return h;
}

/** A metadata value as stored: a number, bigint, string, or the elements of an array. */
function rawValue(file: GgufFile, k: string, c: HyperparameterChecker): unknown {
  const kv = file.metadata.get(k);
  if (kv === undefined) return undefined;
  if (kv.type !== GgufValueType.ARRAY) return kv.value;
  if (kv.itemType === GgufValueType.ARRAY || kv.itemType === GgufValueType.STRING || kv.itemType === GgufValueType.BOOL) {
    c.fail(`${c.source.label(k)} is an array of ${ggufValueTypeName(kv.itemType)}; expected a number or one number per layer`);
  }
  return kv.value;
}

/** Every floating-point hyperparameter of the architecture is finite, whatever it means. */
function checkAllRealsFinite(file: GgufFile, arch: string, c: HyperparameterChecker): void {
  for (const [k, kv] of file.metadata) {
    if (!k.startsWith(`${arch}.`)) continue;
    for (const v of realsOf(kv)) {
      if (!Number.isFinite(v)) c.fail(`${c.source.label(k)} holds ${v}; hyperparameters must be finite numbers`);
    }
  }
}

function realsOf(kv: GgufKv): number[] {
  const isReal = (t: GgufValueType) => t === GgufValueType.FLOAT32 || t === GgufValueType.FLOAT64;
  if (kv.type === GgufValueType.ARRAY) return isReal(kv.itemType) ? (kv.value as number[]) : [];
  return isReal(kv.type) ? [kv.value as number] : [];
}

function checkRopeScalingType(file: GgufFile, k: string, c: HyperparameterChecker): void {
  const kv = file.metadata.get(k);
  if (kv === undefined) return;
  const known: readonly string[] = GGUF_ROPE_SCALING_TYPES;
  if (kv.type !== GgufValueType.STRING || !known.includes(kv.value as string)) {
    c.fail(`${c.source.label(k)} is ${JSON.stringify(kv.value)}; llama.cpp knows ${GGUF_ROPE_SCALING_TYPES.join(', ')}`);
  }
}

/** Per layer: a layer with query heads has key/value heads, and its query heads come in whole groups. */
function checkHeads(h: GgufHyperparameters, key: (k: string) => string, c: HyperparameterChecker): void {
  for (let i = 0; i < h.blockCount; i++) {
    const heads = atLayer(h.heads, i) ?? 0;
    const kv = atLayer(h.kvHeads, i) ?? heads;
    const at = Array.isArray(h.heads) || Array.isArray(h.kvHeads) ? ` in layer ${i}` : '';
    if (heads > 0 && kv === 0)
      c.fail(`${c.source.label(key('attention.head_count_kv'))} is 0${at}, where the layer has ${heads} query heads`);
    if (heads > 0 && heads % kv !== 0) {
      c.fail(
        `${c.source.label(key('attention.head_count'))} (${heads}) is not a multiple of ` +
          `${c.source.label(key('attention.head_count_kv'))} (${kv})${at}; each key/value head serves a whole group of query heads`,
      );
    }
  }
  if (h.embedding !== undefined && h.keyLength === undefined) {
    const heads = maxOf(h.heads) ?? 0;
    if (heads > 0 && h.embedding % heads !== 0) {
      c.fail(
        `${c.source.label(key('embedding_length'))} (${h.embedding}) is not a multiple of ` +
          `${c.source.label(key('attention.head_count'))} (${heads}), and no ${key('attention.key_length')} gives the head size`,
      );
    }
  }
}

/** llama.cpp's rules: experts per token in 1..experts with experts, none without; groups divide the experts. */
function checkExperts(h: GgufHyperparameters, key: (k: string) => string, raw: (k: string) => unknown, c: HyperparameterChecker): void {
  const usedField = key('expert_used_count');
  const used = maxOf(c.countOrPerLayer(usedField, raw('expert_used_count'), 'expertsUsed', h.blockCount)) ?? 0;
  const groups = c.count(key('expert_group_count'), raw('expert_group_count'), 'experts') ?? 0;
  const groupsUsed = c.count(key('expert_group_used_count'), raw('expert_group_used_count'), 'experts') ?? 0;
  const expertsField = { field: key('expert_count'), value: h.experts };
  if (h.experts === 0) {
    if (used > 0) c.fail(`${c.source.label(usedField)} is ${used} but the model declares no experts (${key('expert_count')})`);
    if (groups > 0) c.fail(`${c.source.label(key('expert_group_count'))} is ${groups} but the model declares no experts`);
    return;
  }
  if (used === 0)
    c.fail(`${c.source.label(usedField)} is missing or 0, but the model has ${h.experts} experts; each token must use at least one`);
  c.atMost({ field: usedField, value: used }, expertsField, 'a token cannot use more experts than the layer has');
  if (groups > 0 && (groups >= h.experts || (groups > 1 && (h.experts % groups !== 0 || groupsUsed === 0 || groupsUsed >= groups)))) {
    c.fail(
      `${c.source.label(key('expert_group_count'))} (${groups}) and ${key('expert_group_used_count')} (${groupsUsed}) do not ` +
        `divide ${h.experts} experts into groups of which some, not all, are used`,
    );
  }
}

function checkRopeDims(h: GgufHyperparameters, key: (k: string) => string, raw: (k: string) => unknown, c: HyperparameterChecker): void {
  const dims = c.count(key('rope.dimension_count'), raw('rope.dimension_count'), 'ropeDims');
  const heads = maxOf(h.heads) ?? 0;
  const headSize = h.keyLength ?? (h.embedding !== undefined && heads > 0 ? h.embedding / heads : undefined);
  if (dims !== undefined && headSize !== undefined) {
    c.atMost(
      { field: key('rope.dimension_count'), value: dims },
      { field: key('attention.key_length'), value: headSize },
      'a head cannot rotate more dimensions than it has',
    );
  }
}
