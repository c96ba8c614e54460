/**
 * Parameter counts {total, active}: total is every parameter of the language model (embeddings
 * and an untied output head included, tied embeddings once; vision towers, audio towers and
 * multi-token-prediction layers excluded); active is total minus the routed experts a token
 * does not use, i.e. the routed-expert parameters times (experts - experts per token) / experts.
 *
 * Three sources, one rule: an implied or GGUF tensor list (GGUF names), or the safetensors
 * headers (HF names), where packed quantized weights are unpacked by count and quantization
 * metadata (scales, zero points) is not a parameter.
 */
import type { SafetensorsModel, SafetensorsTensor } from '../formats/safetensors';
import type { HfConfig } from '../hf/config';
import { field, positiveInt } from './config-fields';
import { elementCount } from '../formats/ggml-types';
import { layerOf, ROUTED_EXPERT_TENSOR } from './model-tensor';
import type { MoeInfo, ParameterCount } from './types';

/** Sum over a GGUF-named tensor list (implied or read from a GGUF file). */
export function countTensorParameters(
  tensors: ReadonlyArray<{ name: string; shape: readonly number[]; notParameter?: boolean }>,
  moe: MoeInfo | null,
): ParameterCount {
  let total = 0;
  let routed = 0;
  for (const t of tensors) {
    if (t.notParameter) continue;
    const n = elementCount(t.shape);
    total += n;
    if (ROUTED_EXPERT_TENSOR.test(t.name)) routed += n;
  }
  return { total, active: total - unusedExperts(routed, moe) };
}

function unusedExperts(routed: number, moe: MoeInfo | null): number {
  if (!moe || moe.numExperts <= 0 || routed === 0) return 0;
  const unused = Math.max(0, moe.numExperts - moe.numExpertsPerToken);
  return Math.round((routed / moe.numExperts) * unused);
}

/** GGUF tensors that are not parameters: generated rope tables. */
export function isGeneratedGgufTensor(name: string): boolean {
  return /^(blk\.\d+\.)?rope_(freqs|factors_long|factors_short)\.weight$/.test(name);
}

/** GGUF tensors of the model proper: drops generated tables and MTP (nextn) layers past `numLayers`. */
export function ggufParameterTensors<T extends { name: string }>(tensors: readonly T[], numLayers: number): T[] {
  return tensors.filter((t) => {
    if (isGeneratedGgufTensor(t.name)) return false;
    const layer = layerOf(t.name);
    return layer === null || layer < numLayers;
  });
}

// ---------------------------------------------------------------------------------------------
// Safetensors (HF names)

/** Name segments that belong to a vision or audio tower, or a multimodal projector. */
const NON_TEXT_SEGMENTS = new Set([
  'vision_tower',
  'vision_model',
  'vision_encoder',
  'visual',
  'vision',
  'vision_embed_tokens',
  'multi_modal_projector',
  'mm_projector',
  'image_newline',
  'embed_vision',
  'audio_tower',
  'audio_model',
  'audio_encoder',
  'audio',
  'embed_audio',
  'vqmodel',
]);
/** Segments of multi-token-prediction heads. */
const MTP_SEGMENTS = new Set(['mtp', 'mtp_layers', 'nextn', 'nextn_layers']);
/** Quantization metadata and buffers: present in the file, not parameters. */
const NOT_PARAMETER_SUFFIX = new RegExp(
  `(${[
    ...['weight_scale_inv', 'weight_scale_2', 'weight_scale', 'input_scale', 'weight_zero_point', 'weight_global_scale'],
    ...[String.raw`\.qzeros`, String.raw`\.scales`, '_scales', String.raw`\.g_idx`, String.raw`\.absmax`, String.raw`\.quant_map`],
    ...[String.raw`\.quant_state\.[\w.]+`, String.raw`\.nested_absmax`, String.raw`\.nested_quant_map`, String.raw`\.SCB`],
    ...['k_scale', 'v_scale', 'inv_freq'],
  ].join('|')})$`,
);

export interface WeightCount {
  parameters: ParameterCount;
  warnings: string[];
}

/** Counts parameters from safetensors shapes; `config` is the text config, `tied` the detection's view. */
export function countSafetensorsParameters(
  model: SafetensorsModel,
  config: HfConfig,
  numLayers: number,
  tied: boolean,
  moe: MoeInfo | null,
): WeightCount {
  const warnings: string[] = [];
  const bits = positiveInt(config, ['quantization_config.bits', 'quantization_config.w_bit']) ?? 4;
  let total = 0;
  let routed = 0;
  let packed = 0;
  let skippedTowers = 0;
  for (const t of model.tensors.values()) {
    const segments = t.name.split('.');
    if (segments.some((s) => NON_TEXT_SEGMENTS.has(s))) {
      skippedTowers++;
      continue;
    }
    if (isMtpTensor(segments, numLayers) || NOT_PARAMETER_SUFFIX.test(t.name) || isOldAttentionMask(t)) continue;
    if (tied && /(^|\.)lm_head\.weight$/.test(t.name)) continue;
    const { elements, isPacked } = unpackedElements(t, bits, config);
    if (isPacked) packed++;
    total += elements;
    if (segments.includes('experts')) routed += elements;
  }
  if (packed > 0) warnings.push(`${packed} weights are packed (quantized); their parameter counts are unpacked from the shapes`);
  if (skippedTowers > 0) warnings.push(`${skippedTowers} vision/audio tensors are not counted (language model only)`);
  return { parameters: { total, active: total - unusedExperts(routed, moe) }, warnings };
}

function isMtpTensor(segments: string[], numLayers: number): boolean {
  if (segments.some((s) => MTP_SEGMENTS.has(s))) return true;
  const at = segments.indexOf('layers');
  if (at < 0) return false;
  const index = Number(segments[at + 1]);
  // DeepSeek-style checkpoints append their MTP layers after the decoder layers.
  return Number.isInteger(index) && index >= numLayers;
}

/** GPT-2 era checkpoints may carry the causal mask buffer `attn.bias` [1, 1, n, n]. */
function isOldAttentionMask(t: SafetensorsTensor): boolean {
  return /\.attn\.(masked_)?bias$/.test(t.name) && t.shape.length === 4;
}

function unpackedElements(t: SafetensorsTensor, bits: number, config: HfConfig): { elements: number; isPacked: boolean } {
  const n = elementCount(t.shape);
  // MXFP4 (gpt-oss): *_blocks hold two 4-bit values per byte.
  if (t.name.endsWith('_blocks') && t.dtype === 'U8') return { elements: n * 2, isPacked: true };
  // GPTQ/AWQ: 32-bit words of `bits`-bit values.
  if (t.name.endsWith('.qweight') && (t.dtype === 'I32' || t.dtype === 'U32')) return { elements: (n * 32) / bits, isPacked: true };
  // NVFP4 / bitsandbytes 4-bit: two values per byte in a U8 weight.
  if (t.dtype === 'U8' && t.name.endsWith('.weight') && isFourBitPacked(config)) return { elements: n * 2, isPacked: true };
  return { elements: n, isPacked: false };
}

function isFourBitPacked(config: HfConfig): boolean {
  const q = field(config, 'quantization_config');
  const text = JSON.stringify(q ?? '').toLowerCase();
  return text.includes('nvfp4') || text.includes('fp4') || text.includes('load_in_4bit":true') || text.includes('nf4');
}
