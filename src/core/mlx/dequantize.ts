/**
 * dequantizeMlxModel: MLX model folder -> HF-style safetensors folder in F16 (or BF16/F32), with
 * every quantized weight expanded (w = scale * q + bias) and stacked experts split back into HF
 * names. The result is what the GGUF converter reads, which puts MLX artifacts on the same quality
 * scale as GGUF ones (llama-perplexity, KL divergence) without MLX.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { throwIfCancelled } from '../errors';
import { readTensorBytes, type SafetensorsTensor } from '../formats/safetensors';
import type { SafetensorsDtype } from '../formats/safetensors-dtypes';
import { writeDirectoryAtomically } from '../fs/atomic';
import type { JsonObject } from '../hf/config';
import type { JobOptions } from '../job';
import { dequantizeAffine, encodeFloats, type MlxFloatDtype } from './affine';
import { pythonJson } from './config';
import { hfExpertNames } from './names';
import { gptOssCheckpointExperts } from './gpt-oss';
import { moduleQuantization, openMlxModel, quantizedWeight, readQuantizedRows, type MlxModel, type QuantizedWeight } from './reader';
import { MLX_MAX_SHARD_BYTES, ShardWriter, planShards, shardIndexJson, type OutputTensor } from './shards';
import { MLX_CHUNK_BYTES, convertFloats, isFloatDtype, itemBytes } from './tensor-io';
import { copyTokenizerFiles } from './writer';

export interface DequantizeMlxOptions extends JobOptions {
  /** dtype of the output (default F16). */
  dtype?: MlxFloatDtype;
  chunkBytes?: number;
}

export interface DequantizeMlxResult {
  outDir: string;
  tensorCount: number;
  dequantizedWeights: number;
  dtype: MlxFloatDtype;
}

/** One output tensor: a slice of rows of an MLX tensor (a whole tensor, or one expert of a stack). */
interface Piece {
  out: OutputTensor;
  source: SafetensorsTensor;
  quantized: QuantizedWeight | null;
  /** First row of the source (rows of its last dim) and row count. */
  row: number;
  rows: number;
}

const TORCH_DTYPE: Record<MlxFloatDtype, string> = { F16: 'float16', BF16: 'bfloat16', F32: 'float32' };

export async function dequantizeMlxModel(mlxDir: string, outDir: string, opts: DequantizeMlxOptions = {}): Promise<DequantizeMlxResult> {
  const dtype = opts.dtype ?? 'F16';
  const model = await openMlxModel(path.resolve(mlxDir));
  // gpt-oss's mxfp4 experts go back to the checkpoint's MXFP4 tensors, as they are (see gpt-oss.ts).
  const experts = gptOssCheckpointExperts(model.weights.tensors, (m) => moduleQuantization(model, m)?.mode === 'mxfp4', dtype, model.dir);
  const pieces = planPieces(model, dtype, experts?.claimed ?? new Set());
  const shards = planShards([...pieces.map((p) => p.out), ...(experts?.outputs ?? [])], MLX_MAX_SHARD_BYTES, { format: 'pt' });
  const parameters = pieces.reduce((n, p) => n + p.out.shape.reduce((a, b) => a * b, 1), 0);
  const config: JsonObject = { ...model.config, torch_dtype: TORCH_DTYPE[dtype] };
  delete config.quantization;
  delete config.quantization_config;
  if (experts) config.quantization_config = { quant_method: 'mxfp4' };
  if ('dtype' in model.config) config.dtype = TORCH_DTYPE[dtype];
  const target = path.resolve(outDir);
  await fsp.mkdir(path.dirname(target), { recursive: true });
  await writeDirectoryAtomically(
    target,
    async (tmp) => {
      const writer = await ShardWriter.create(tmp, shards);
      try {
        for (const [i, piece] of pieces.entries()) {
          throwIfCancelled(opts.signal);
          await writePiece(writer, piece, dtype, opts.chunkBytes ?? MLX_CHUNK_BYTES);
          opts.onProgress?.({ step: 'dequantize MLX', done: i + 1, total: pieces.length, unit: 'tensors' });
        }
        await experts?.write(writer);
        await writer.close();
      } catch (error) {
        await writer.abort();
        throw error;
      }
      if (shards.length > 1) await fsp.writeFile(path.join(tmp, 'model.safetensors.index.json'), shardIndexJson(shards, parameters));
      await fsp.writeFile(path.join(tmp, 'config.json'), pythonJson(config));
      await copyTokenizerFiles(model.dir, tmp);
    },
    { signal: opts.signal },
  );
  return { outDir: target, tensorCount: pieces.length, dequantizedWeights: pieces.filter((p) => p.quantized).length, dtype };
}

function planPieces(model: MlxModel, dtype: MlxFloatDtype, claimed: ReadonlySet<string>): Piece[] {
  const pieces: Piece[] = [];
  const tensors = model.weights.tensors;
  for (const [name, t] of tensors) {
    if (claimed.has(name)) continue;
    const modulePath = name.replace(/\.(weight|scales|biases)$/, '');
    if ((name.endsWith('.scales') || name.endsWith('.biases')) && quantizedWeight(model, modulePath)) continue; // part of the weight
    const quantized = name.endsWith('.weight') ? quantizedWeight(model, modulePath) : null;
    const shape = quantized ? quantized.shape : [...t.shape];
    const outDtype = (quantized || isFloatDtype(t.dtype) ? dtype : t.dtype) as SafetensorsDtype;
    const rowLength = shape.length ? shape[shape.length - 1]! : 1;
    const totalRows = rowLength ? shape.reduce((a, b) => a * b, 1) / rowLength : 0;
    const experts = shape.length >= 3 ? hfExpertNames(name, shape[0]!, model.modelType) : null;
    if (!experts) {
      pieces.push({ out: { name, dtype: outDtype, shape }, source: t, quantized, row: 0, rows: totalRows });
      continue;
    }
    const rowsPerExpert = totalRows / experts.length;
    experts.forEach((hfName, e) => {
      pieces.push({
        out: { name: hfName, dtype: outDtype, shape: shape.slice(1) },
        source: t,
        quantized,
        row: e * rowsPerExpert,
        rows: rowsPerExpert,
      });
    });
  }
  return pieces;
}

async function writePiece(writer: ShardWriter, piece: Piece, dtype: MlxFloatDtype, chunkBytes: number): Promise<void> {
  const shape = piece.out.shape;
  const rowLength = shape.length ? shape[shape.length - 1]! : 1;
  const outItem =
    piece.quantized || isFloatDtype(piece.source.dtype)
      ? itemBytes(dtype)
      : piece.source.byteLength /
        Math.max(
          1,
          piece.source.shape.reduce((a, b) => a * b, 1),
        );
  const perChunk = Math.max(1, Math.floor(chunkBytes / Math.max(1, rowLength * 4)));
  for (let r = 0; r < piece.rows; r += perChunk) {
    const rows = Math.min(perChunk, piece.rows - r);
    const at = r * rowLength * outItem;
    if (piece.quantized) {
      const q = await readQuantizedRows(piece.quantized, piece.row + r, rows);
      await writer.write(piece.out.name, at, encodeFloats(dequantizeAffine(q, piece.quantized.quant), dtype));
      continue;
    }
    const inItem =
      piece.source.byteLength /
      Math.max(
        1,
        piece.source.shape.reduce((a, b) => a * b, 1),
      );
    const start = (piece.row + r) * rowLength * inItem;
    const bytes = await readTensorBytes(piece.source, { start, end: start + rows * rowLength * inItem });
    const data = isFloatDtype(piece.source.dtype) ? convertFloats(bytes, piece.source.dtype, dtype, piece.source.name) : bytes;
    await writer.write(piece.out.name, at, data);
  }
}

/** Float32 values of a whole float tensor (tests, small tensors). */
export async function readFloatTensor(t: SafetensorsTensor): Promise<Float32Array> {
  return convertFloats(await readTensorBytes(t), t.dtype, 'F32', t.name) as Float32Array;
}
