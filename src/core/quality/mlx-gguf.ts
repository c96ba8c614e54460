/**
 * MLX artifacts get numbers on the same scale as GGUF ones by evaluating their exact weights with
 * llama.cpp: dequantize the MLX folder to an F16 Hugging Face folder (w = scale * q + bias, as
 * MLX computes it), then convert that to an F16 GGUF. Rounding to F16 after dequantizing adds an
 * error far below the 4-bit quantization error being measured.
 */
import { promises as fsp } from 'node:fs';
import { convertToGguf } from '../convert';
import { tempPathFor } from '../fs/atomic';
import type { JobOptions } from '../job';
import { dequantizeMlxModel } from '../mlx/dequantize';

/** Writes `outPath` (an F16 GGUF) holding the MLX model in `mlxDir`; the intermediate folder is deleted. */
export async function mlxArtifactToGguf(mlxDir: string, outPath: string, job: JobOptions = {}): Promise<void> {
  const hfDir = tempPathFor(`${outPath}-hf`);
  try {
    await dequantizeMlxModel(mlxDir, hfDir, { ...job, dtype: 'F16' });
    await convertToGguf(hfDir, { outPath, outType: 'f16' }, job);
  } finally {
    await fsp.rm(hfDir, { recursive: true, force: true });
  }
}
