/**
 * Reads an MLX model folder back: its config's "quantization", which modules are quantized (by
 * mlx_lm's load rule), and quantized weights as words + float32 scales/biases, whole or by rows.
 * Used by dequantize.ts, by the tests that check written models, and by the quality measurements.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { FormatError } from '../errors';
import { typedView } from '../formats/float';
import { openSafetensorsModel, readTensorBytes, type SafetensorsModel, type SafetensorsTensor } from '../formats/safetensors';
import { readConfigJson, type JsonObject } from '../hf/config';
import type { MlxQuant } from '../plan/types';
import { decodeFloats, dequantizeAffine, type AffineQuantized, type MlxFloatDtype } from './affine';
import { readQuantization } from './config';

export interface MlxModel {
  dir: string;
  config: JsonObject;
  modelType: string;
  quantization: { defaults: MlxQuant; modules: Map<string, MlxQuant | false> } | null;
  weights: SafetensorsModel;
}

/** A quantized module's three tensors and its width. */
export interface QuantizedWeight {
  modulePath: string;
  quant: MlxQuant;
  weight: SafetensorsTensor;
  scales: SafetensorsTensor;
  biases: SafetensorsTensor;
  /** Unpacked shape (HF order), e.g. [experts, out, in]. */
  shape: number[];
  dtype: MlxFloatDtype;
}

export async function openMlxModel(dir: string): Promise<MlxModel> {
  const configPath = path.join(dir, 'config.json');
  if (!existsSync(configPath)) throw new FormatError('no config.json: not an MLX model folder', { path: dir });
  const config = await readConfigJson(configPath);
  const weights = await openSafetensorsModel(dir);
  const modelType = typeof config.model_type === 'string' ? config.model_type : '';
  return { dir, config, modelType, quantization: readQuantization(config, configPath), weights };
}

/**
 * The width a module is loaded with, as mlx_lm decides: an entry in "quantization" wins (false =
 * not quantized); otherwise the module is quantized with the defaults iff `<path>.scales` exists.
 */
export function moduleQuantization(model: MlxModel, modulePath: string): MlxQuant | null {
  const q = model.quantization;
  if (!q) return null;
  const entry = q.modules.get(modulePath);
  if (entry === false) return null;
  if (entry) return entry;
  return model.weights.tensors.has(`${modulePath}.scales`) ? q.defaults : null;
}

/** The quantized weight of a module, checked for consistent shapes and dtypes; null when it is not quantized. */
export function quantizedWeight(model: MlxModel, modulePath: string): QuantizedWeight | null {
  const quant = moduleQuantization(model, modulePath);
  if (!quant) return null;
  const get = (suffix: string): SafetensorsTensor => {
    const t = model.weights.tensors.get(`${modulePath}.${suffix}`);
    if (!t)
      throw new FormatError(`quantized module ${modulePath} has no "${suffix}" tensor`, {
        path: model.dir,
        tensor: `${modulePath}.${suffix}`,
      });
    return t;
  };
  const weight = get('weight');
  const scales = get('scales');
  const biases = get('biases');
  const lead = weight.shape.slice(0, -1);
  const packed = weight.shape[weight.shape.length - 1]!;
  const shape = [...lead, (packed * 32) / quant.bits];
  const groups = [...lead, shape[shape.length - 1]! / quant.groupSize];
  const bad = (why: string): never => {
    throw new FormatError(`quantized module ${modulePath} (${quant.bits}-bit, group ${quant.groupSize}): ${why}`, {
      path: model.dir,
      tensor: `${modulePath}.weight`,
    });
  };
  if (weight.dtype !== 'U32') bad(`weight is ${weight.dtype}, expected U32`);
  if (!Number.isInteger(shape[shape.length - 1]! / quant.groupSize)) bad(`row of ${shape[shape.length - 1]} values is not whole groups`);
  for (const t of [scales, biases]) {
    if (t.shape.join(',') !== groups.join(',')) bad(`${t.name} has shape [${t.shape.join(', ')}], expected [${groups.join(', ')}]`);
  }
  if (scales.dtype !== biases.dtype || !['BF16', 'F16', 'F32'].includes(scales.dtype))
    bad(`scales/biases are ${scales.dtype}/${biases.dtype}`);
  return { modulePath, quant, weight, scales, biases, shape, dtype: scales.dtype as MlxFloatDtype };
}

/** Rows [row, row + rows) of a quantized weight (rows of its last dim, all leading dims flattened). */
export async function readQuantizedRows(w: QuantizedWeight, row: number, rows: number): Promise<AffineQuantized> {
  const rowLength = w.shape[w.shape.length - 1]!;
  const wordsPerRow = (rowLength * w.quant.bits) / 32;
  const groupsPerRow = rowLength / w.quant.groupSize;
  const item = w.dtype === 'F32' ? 4 : 2;
  const words = typedView(
    await readTensorBytes(w.weight, { start: row * wordsPerRow * 4, end: (row + rows) * wordsPerRow * 4 }),
    Uint32Array,
  );
  const decode = async (t: SafetensorsTensor): Promise<Float32Array> => {
    const bytes = await readTensorBytes(t, { start: row * groupsPerRow * item, end: (row + rows) * groupsPerRow * item });
    return decodeFloats(w.dtype === 'F32' ? typedView(bytes, Float32Array) : typedView(bytes, Uint16Array), w.dtype);
  };
  return { words, scales: await decode(w.scales), biases: await decode(w.biases) };
}

/** Number of rows (of the last dim) of a quantized weight. */
export function quantizedRowCount(w: QuantizedWeight): number {
  return w.shape.slice(0, -1).reduce((a, b) => a * b, 1);
}

/** Whole dequantized weight as float32 (small tensors: tests, tiny models). */
export async function readDequantizedWeight(w: QuantizedWeight): Promise<Float32Array> {
  const q = await readQuantizedRows(w, 0, quantizedRowCount(w));
  return dequantizeAffine(q, w.quant);
}
