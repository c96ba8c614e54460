/**
 * The type each tensor has in the F16/BF16/F32 intermediate GGUF the converter writes: 1-D tensors,
 * norms, MoE routers and a few structural tensors stay F32 (llama.cpp's kernels expect them so, and
 * llama-quantize never touches them); every other weight takes the output type. The converter and
 * the plan both use this rule, so the plan knows the quantizer's input before it exists.
 */
import type { GgmlTypeName } from '../formats/ggml-types';

export type IntermediateOutType = 'F16' | 'BF16' | 'F32';

const ALWAYS_F32 = [
  'ffn_gate_inp.weight',
  'ffn_gate_inp_shexp.weight',
  'position_embd.weight',
  'token_types.weight',
  'ssm_conv1d',
  'shortconv.conv',
  'time_mix_first',
  'time_mix_w1',
  'time_mix_w2',
  'time_mix_decay_w1',
  'time_mix_decay_w2',
  'time_mix_lerp_fused',
  'indexer.proj',
];

export function intermediateType(name: string, shape: readonly number[], outType: IntermediateOutType): GgmlTypeName {
  if (shape.length <= 1 || name.endsWith('_norm.weight')) return 'F32';
  if (!name.endsWith('.weight')) return 'F32';
  if (ALWAYS_F32.some((s) => name.includes(s))) return 'F32';
  return outType;
}
