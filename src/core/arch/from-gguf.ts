/**
 * ArchitectureInfo from a GGUF file's metadata (`general.architecture`, `<arch>.block_count`,
 * `<arch>.attention.head_count[_kv]` (a number or one per layer), expert and SSM keys ...) and its
 * tensor infos, which also give the parameter count and the per-layer structure (which layers
 * have attention, an SSM, experts). llama.cpp's per-architecture defaults (Gemma 2's 1:1
 * sliding-window alternation, Llama 4's chunked attention) fill in what the metadata leaves out.
 */
import { FormatError, UnsupportedError } from '../errors';
import { ftypeNameById, isUnquantizedType } from '../formats/ggml-types';
import { type GgufFile, GgufValueType, ggufNumber, ggufString, ggufValue } from '../formats/gguf';
import { checkGgufHyperparameters } from './gguf-hyperparameters';
import { attentionPattern } from './layers';
import { layerOf } from './model-tensor';
import { countTensorParameters, ggufParameterTensors } from './parameters';
import type { ArchitectureInfo, AttentionKind, LayerKind, MlaInfo, MoeInfo, ModelFamily, SourceQuantization } from './types';

/** llama.cpp's built-in sliding-window periods (N-1 windowed layers, then one full), by GGUF arch. */
const ARCH_SWA_PERIOD: Record<string, number> = {
  gemma2: 2,
  gemma3: 6,
  gemma3n: 5,
  'gemma-embedding': 6,
  cohere2: 4,
  exaone4: 4,
  'gpt-oss': 2,
  afmoe: 4,
  plamo3: 8,
};
/** Llama 4: three chunked-attention layers, then a global one. */
const LLAMA4_CHUNK_PERIOD = 4;

export function detectFromGguf(file: GgufFile, source: string): ArchitectureInfo {
  const arch = modelArchitecture(file);
  // Before any per-layer list is built: counts within limits, values that mean something, tensors that agree.
  checkGgufHyperparameters(file);
  const key = (k: string) => `${arch}.${k}`;
  const required = (k: string): number => {
    const v = ggufNumber(file, key(k));
    if (v === undefined || !(v > 0)) throw new FormatError(`GGUF metadata has no ${key(k)}; the file is incomplete`, { path: file.path });
    return v;
  };
  const warnings: string[] = [];
  const blockCount = required('block_count');
  const numLayers = blockCount - (ggufNumber(file, key('nextn_predict_layers')) ?? 0);
  const hiddenSize = required('embedding_length');
  const { heads, kvHeads, headDim, mla } = readAttention(file, key, blockCount, hiddenSize);
  const contextLength = ggufNumber(file, key('context_length')) ?? 0;
  const layout = readLayout(file, arch, key, numLayers, contextLength);
  const moe = readMoe(file, key, numLayers, warnings);
  const hybrid = layout.attentionPattern === 'hybrid';
  const family: ModelFamily = moe ? (hybrid ? 'hybrid_moe' : 'moe') : hybrid ? 'hybrid' : 'dense';
  const ftypeId = ggufNumber(file, 'general.file_type');
  const ftype = ftypeId === undefined ? undefined : ftypeNameById(ftypeId);
  const ropeDims = ggufNumber(file, key('rope.dimension_count'));
  if (numLayers < blockCount) warnings.push(`${blockCount - numLayers} multi-token-prediction layer(s) are not counted`);
  return {
    source,
    modelType: arch,
    architectures: [],
    family,
    attention: attentionKind(mla, heads, kvHeads),
    numLayers,
    hiddenSize,
    intermediateSize: perLayer(file, key('feed_forward_length'), blockCount).find((n) => n > 0) ?? 0,
    numAttentionHeads: heads,
    numKeyValueHeads: kvHeads,
    headDim,
    gqaRatio: kvHeads === null ? null : heads / kvHeads,
    contextLength,
    vocabSize: readVocabSize(file, key),
    ...layout,
    moe,
    mla,
    tiedEmbeddings: !file.tensors.some((t) => t.name === 'output.weight'),
    rope: {
      theta: ggufNumber(file, key('rope.freq_base')) ?? null,
      scaling: readRopeScaling(file, key),
      partialRotaryFactor: ropeDims !== undefined && headDim > 0 ? Math.min(1, (mla ? mla.qkRopeHeadDim : ropeDims) / headDim) : 1,
    },
    attentionSinks: file.tensors.some((t) => t.name.endsWith('.attn_sinks.weight')),
    finalLogitSoftcap: ggufNumber(file, key('final_logit_softcapping')) ?? null,
    sourceQuantization: sourceQuantization(ftype),
    dtype: ftype ?? file.tensors.find((t) => t.name === 'token_embd.weight')?.type ?? null,
    parameters: countTensorParameters(ggufParameterTensors(file.tensors, numLayers), moe),
    parametersSource: 'weights',
    warnings,
  };
}

function modelArchitecture(file: GgufFile): string {
  const arch = ggufString(file, 'general.architecture');
  if (arch === 'clip')
    throw new UnsupportedError(`${file.path} is a vision projector (mmproj) GGUF, not a language model; pass the model's GGUF`);
  if (ggufString(file, 'general.type') === 'adapter')
    throw new UnsupportedError(`${file.path} is a LoRA adapter GGUF, not a model; pass the base model's GGUF`);
  if (!arch)
    throw new FormatError('no general.architecture in the GGUF metadata; is this a model file (not an mmproj or LoRA)?', {
      path: file.path,
    });
  return arch;
}

interface GgufAttention {
  heads: number;
  kvHeads: number | null;
  headDim: number;
  mla: MlaInfo | null;
}

/** Head counts may be per layer (0 on SSM layers): the first attention layer's values count. */
function readAttention(file: GgufFile, key: (k: string) => string, blockCount: number, hiddenSize: number): GgufAttention {
  const headsPerLayer = perLayer(file, key('attention.head_count'), blockCount);
  const heads = headsPerLayer.find((h) => h > 0) ?? 0;
  if (heads === 0) throw new FormatError(`GGUF metadata has no ${key('attention.head_count')}`, { path: file.path });
  const kvPerLayer = perLayer(file, key('attention.head_count_kv'), blockCount);
  const kv = kvPerLayer.find((n, i) => n > 0 && (headsPerLayer[i] ?? heads) > 0) ?? heads;
  const mla = readMla(file, key);
  if (mla) return { heads, kvHeads: null, headDim: mla.qkNopeHeadDim + mla.qkRopeHeadDim, mla };
  return { heads, kvHeads: kv, headDim: ggufNumber(file, key('attention.key_length')) ?? Math.floor(hiddenSize / heads), mla: null };
}

type GgufLayout = Pick<ArchitectureInfo, 'layerTypes' | 'slidingWindow' | 'attentionPattern'>;

/** Layer kinds, and the window only when it restricts attention (shorter than the context). */
function readLayout(file: GgufFile, arch: string, key: (k: string) => string, numLayers: number, contextLength: number): GgufLayout {
  const raw = readLayerTypes(file, arch, key, numLayers);
  let window = ggufNumber(file, key('attention.sliding_window')) ?? null;
  if (window !== null && (window <= 0 || (contextLength > 0 && window >= contextLength))) window = null;
  const layerTypes = window === null ? raw.map((t): LayerKind => (t === 'sliding_attention' ? 'full_attention' : t)) : raw;
  return {
    layerTypes,
    slidingWindow: window !== null && layerTypes.includes('sliding_attention') ? window : null,
    attentionPattern: attentionPattern(layerTypes),
  };
}

/** A metadata value that is a number or an array with one number per layer, as one per layer. */
function perLayer(file: GgufFile, k: string, n: number): number[] {
  const kv = ggufValue(file, k);
  if (kv === undefined) return [];
  if (kv.type !== GgufValueType.ARRAY) {
    const v = ggufNumber(file, k) ?? 0;
    return Array.from({ length: n }, () => v);
  }
  return kv.value.map((v) => (typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : 0));
}

function readMla(file: GgufFile, key: (k: string) => string): MlaInfo | null {
  const kvLoraRank = ggufNumber(file, key('attention.kv_lora_rank'));
  if (!kvLoraRank) return null;
  const rope = ggufNumber(file, key('rope.dimension_count')) ?? 64;
  // Newer files give the decompressed head sizes in *_mla keys; older ones in key/value_length.
  const qk = ggufNumber(file, key('attention.key_length_mla')) ?? ggufNumber(file, key('attention.key_length')) ?? rope;
  const v = ggufNumber(file, key('attention.value_length_mla')) ?? ggufNumber(file, key('attention.value_length')) ?? qk - rope;
  return {
    qLoraRank: ggufNumber(file, key('attention.q_lora_rank')) || null,
    kvLoraRank,
    qkNopeHeadDim: qk - rope,
    qkRopeHeadDim: rope,
    vHeadDim: v,
  };
}

function attentionKind(mla: MlaInfo | null, heads: number, kvHeads: number | null): AttentionKind {
  if (mla || kvHeads === null) return 'mla';
  if (kvHeads === heads) return 'mha';
  return kvHeads === 1 ? 'mqa' : 'gqa';
}

function readVocabSize(file: GgufFile, key: (k: string) => string): number {
  const explicit = ggufNumber(file, key('vocab_size'));
  if (explicit) return explicit;
  const tokens = ggufValue(file, 'tokenizer.ggml.tokens');
  if (tokens?.type === GgufValueType.ARRAY) return tokens.value.length;
  return file.tensors.find((t) => t.name === 'token_embd.weight')?.shape[1] ?? 0;
}

/** Per-layer mixer kinds from the tensors each block has, and the sliding-window pattern keys. */
function readLayerTypes(file: GgufFile, arch: string, key: (k: string) => string, n: number): LayerKind[] {
  const names: Set<string>[] = Array.from({ length: n }, () => new Set());
  for (const t of file.tensors) {
    const layer = layerOf(t.name);
    if (layer !== null && layer < n) names[layer]!.add(t.name.slice(`blk.${layer}.`.length));
  }
  const swa = swaLayers(file, arch, key, n);
  return names.map((set, i): LayerKind => {
    const has = (prefix: string) => [...set].some((s) => s.startsWith(prefix));
    if (has('ssm_beta') || has('ssm_ba') || has('ssm_alpha')) return 'linear_attention';
    if (has('ssm_') || has('time_mix_')) return 'mamba';
    if (has('shortconv.')) return 'short_conv';
    if (has('attn_q') || has('attn_qkv') || has('attn_kv_a_mqa') || has('attn_k.')) {
      if (!swa[i]) return 'full_attention';
      return arch === 'llama4' ? 'chunked_attention' : 'sliding_attention';
    }
    return 'mlp_only';
  });
}

function swaLayers(file: GgufFile, arch: string, key: (k: string) => string, n: number): boolean[] {
  const kv = ggufValue(file, key('attention.sliding_window_pattern'));
  if (kv?.type === GgufValueType.ARRAY) return Array.from({ length: n }, (_, i) => kv.value[i] === true);
  const hasWindow = ggufValue(file, key('attention.sliding_window')) !== undefined;
  let period = kv !== undefined ? ggufNumber(file, key('attention.sliding_window_pattern')) : undefined;
  if (arch === 'llama4') period ??= LLAMA4_CHUNK_PERIOD;
  else if (!hasWindow) return Array.from({ length: n }, () => false);
  period ??= ARCH_SWA_PERIOD[arch] ?? 1;
  return Array.from({ length: n }, (_, i) => period === 1 || (i + 1) % period !== 0);
}

function readMoe(file: GgufFile, key: (k: string) => string, n: number, warnings: string[]): MoeInfo | null {
  const numExperts = ggufNumber(file, key('expert_count')) ?? 0;
  if (numExperts <= 1) return null;
  let perToken = ggufNumber(file, key('expert_used_count'));
  if (!perToken) {
    perToken = 2;
    warnings.push(`${key('expert_used_count')} is missing; assumed ${perToken} experts per token`);
  }
  const down = file.tensors.find((t) => /^blk\.\d+\.ffn_down_exps\.weight$/.test(t.name));
  const sharedDown = file.tensors.find((t) => /^blk\.\d+\.ffn_down_shexp\.weight$/.test(t.name));
  const sharedCount = ggufNumber(file, key('expert_shared_count')) ?? (sharedDown ? 1 : 0);
  const expertLayers = new Set(
    file.tensors.filter((t) => /ffn_(gate_|up_|down_|gate_up_)?exps\.weight$/.test(t.name)).map((t) => layerOf(t.name)),
  );
  const denseLayers = Array.from({ length: n }, (_, i) => i).filter(
    (i) => !expertLayers.has(i) && file.tensors.some((t) => t.name === `blk.${i}.ffn_down.weight`),
  );
  return {
    numExperts,
    numExpertsPerToken: perToken,
    numSharedExperts: sharedCount,
    expertIntermediateSize: ggufNumber(file, key('expert_feed_forward_length')) ?? down?.shape[0] ?? 0,
    sharedIntermediateSize: sharedCount > 0 ? (sharedDown?.shape[0] ?? ggufNumber(file, key('expert_shared_feed_forward_length')) ?? 0) : 0,
    denseLayers,
  };
}

function readRopeScaling(file: GgufFile, key: (k: string) => string): Record<string, unknown> | null {
  const type = ggufString(file, key('rope.scaling.type'));
  if (!type || type === 'none') return null;
  const out: Record<string, unknown> = { type };
  const factor = ggufNumber(file, key('rope.scaling.factor'));
  if (factor !== undefined) out.factor = factor;
  const original = ggufNumber(file, key('rope.scaling.original_context_length'));
  if (original !== undefined) out.original_max_position_embeddings = original;
  return out;
}

function sourceQuantization(ftype: string | undefined): SourceQuantization | null {
  if (!ftype || isUnquantizedType(ftype)) return null;
  return { method: 'gguf', details: { fileType: ftype } };
}
