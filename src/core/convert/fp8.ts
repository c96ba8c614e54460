/**
 * FP8 checkpoints (tensors stored as F8_E4M3 / F8_E5M2 with per-block scales, or a config whose
 * quantization_config says fp8) cannot be converted yet. Said as such before the tensor map would
 * stumble over the scale tensors and name those instead.
 */
import { readSourceQuantization } from '../arch/from-config';
import { UnsupportedError } from '../errors';
import type { SafetensorsModel } from '../formats/safetensors';
import type { HfConfig } from '../hf/config';

const FP8_DTYPES = new Set(['F8_E4M3', 'F8_E5M2']);

export function refuseFp8(config: HfConfig, model: SafetensorsModel): void {
  const fp8Tensor = [...model.tensors.values()].find((t) => FP8_DTYPES.has(t.dtype));
  const declared = readSourceQuantization(config)?.method === 'fp8';
  if (!fp8Tensor && !declared) return;
  const evidence = fp8Tensor ? `tensor ${fp8Tensor.name} is ${fp8Tensor.dtype}` : 'config.json declares an fp8 quantization_config';
  throw new UnsupportedError(
    `FP8 checkpoints are not supported (${evidence}): the converter reads F32, F16 and BF16 weights. Use the model's BF16 or F16 release`,
    { quantization: 'fp8' },
  );
}
