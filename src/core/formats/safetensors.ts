/**
 * Safetensors models: one `model.safetensors`, or shards listed by `model.safetensors.index.json`.
 * Headers are read and cross-checked up front; tensor data is read one tensor (or byte range) at a
 * time, so a model far larger than memory can be streamed through the converter.
 */
import { existsSync, promises as fsp, readdirSync } from 'node:fs';
import path from 'node:path';
import { FormatError, UnsupportedError, UsageError } from '../errors';
import { readRange } from './file-reader';
import { bf16ToF32Array, f16ToF32Array, f64ToF32Array, typedView } from './float';
import { readSafetensorsHeader, type SafetensorsFile, type SafetensorsTensor } from './safetensors-header';

export * from './safetensors-dtypes';
export * from './safetensors-header';

export const SAFETENSORS_SINGLE_FILE = 'model.safetensors';
export const SAFETENSORS_INDEX_FILE = 'model.safetensors.index.json';

/** Whether a folder holds safetensors weights (one file, shards, or an index). */
export function hasSafetensorsWeights(dir: string): boolean {
  try {
    return readdirSync(dir).some((f) => f.endsWith('.safetensors') || f === SAFETENSORS_INDEX_FILE);
  } catch {
    return false;
  }
}
/** Index files list every tensor name once; even the largest models stay far below this. */
export const SAFETENSORS_MAX_INDEX_BYTES = 64 * 1024 * 1024;

export interface SafetensorsModel {
  /** The model folder. */
  readonly dir: string;
  /** One per file, in shard-name order. */
  readonly files: readonly SafetensorsFile[];
  /** Every tensor by name, in file order then data order. */
  readonly tensors: ReadonlyMap<string, SafetensorsTensor>;
  /** The index's "metadata" object (e.g. total_size), when the model is sharded. */
  readonly indexMetadata?: Readonly<Record<string, unknown>>;
}

/**
 * Opens the safetensors weights of a model folder (or a single .safetensors file): the index with
 * its shards when `model.safetensors.index.json` exists, else `model.safetensors`, else the folder's
 * only .safetensors file. Sharded models are cross-checked: every index entry must exist in its
 * shard, and every shard tensor must be listed in the index under that shard.
 */
export async function openSafetensorsModel(dir: string): Promise<SafetensorsModel> {
  const stat = await fsp.stat(dir).catch(() => undefined);
  if (!stat) throw new UsageError(`${dir}: no such file or folder`, { path: dir });
  if (stat.isFile()) return singleFileModel(path.dirname(dir), await readSafetensorsHeader(dir));
  const indexPath = path.join(dir, SAFETENSORS_INDEX_FILE);
  if (existsSync(indexPath)) return openShardedModel(dir, indexPath);
  const single = path.join(dir, SAFETENSORS_SINGLE_FILE);
  if (existsSync(single)) return singleFileModel(dir, await readSafetensorsHeader(single));
  const entries = await fsp.readdir(dir);
  const found = entries.filter((f) => f.endsWith('.safetensors')).sort();
  if (found.length === 1) return singleFileModel(dir, await readSafetensorsHeader(path.join(dir, found[0]!)));
  const what = found.length
    ? `${found.length} .safetensors files (${found.slice(0, 5).join(', ')}) but no index to say which belong to the model`
    : 'no .safetensors file';
  const hint = entries.some((f) => f.endsWith('.bin') || f.endsWith('.pt'))
    ? '; PyTorch .bin/.pt checkpoints are not read: use the safetensors version of the model'
    : ' (is this a Hugging Face model folder?)';
  throw new FormatError(`found ${what}; expected ${SAFETENSORS_SINGLE_FILE} or ${SAFETENSORS_INDEX_FILE}${hint}`, { path: dir });
}

function singleFileModel(dir: string, file: SafetensorsFile): SafetensorsModel {
  const tensors = new Map<string, SafetensorsTensor>();
  for (const t of file.tensors) tensors.set(t.name, t);
  return { dir, files: [file], tensors };
}

interface SafetensorsIndex {
  metadata?: Record<string, unknown>;
  weightMap: Map<string, string>;
}

async function openShardedModel(dir: string, indexPath: string): Promise<SafetensorsModel> {
  const index = await readIndex(indexPath);
  const shardNames = [...new Set(index.weightMap.values())].sort();
  const missing = shardNames.filter((s) => !existsSync(path.join(dir, s)));
  if (missing.length) {
    const list = missing.length > 5 ? `${missing.slice(0, 5).join(', ')} and ${missing.length - 5} more` : missing.join(', ');
    throw new FormatError(
      `${missing.length} of ${shardNames.length} shards listed in the index are missing: ${list}; the download is incomplete (download ` +
        `the model again)`,
      {
        path: indexPath,
      },
    );
  }
  const files = await Promise.all(shardNames.map((s) => readSafetensorsHeader(path.join(dir, s))));
  const tensors = new Map<string, SafetensorsTensor>();
  files.forEach((file, i) => {
    const shard = shardNames[i]!;
    for (const t of file.tensors) {
      const listed = index.weightMap.get(t.name);
      if (listed !== shard) {
        const where = listed === undefined ? 'does not list it' : `maps it to shard ${listed}`;
        throw new FormatError(`shard ${shard} holds this tensor but ${SAFETENSORS_INDEX_FILE} ${where}`, {
          path: file.path,
          tensor: t.name,
        });
      }
      tensors.set(t.name, t);
    }
  });
  for (const [name, shard] of index.weightMap) {
    if (!tensors.has(name)) {
      throw new FormatError(`${SAFETENSORS_INDEX_FILE} maps this tensor to shard ${shard}, which does not contain it`, {
        path: indexPath,
        tensor: name,
      });
    }
  }
  return { dir, files, tensors, indexMetadata: index.metadata };
}

async function readIndex(indexPath: string): Promise<SafetensorsIndex> {
  const { size } = await fsp.stat(indexPath);
  if (size > SAFETENSORS_MAX_INDEX_BYTES) {
    throw new FormatError(`index is ${size} bytes, more than the limit of ${SAFETENSORS_MAX_INDEX_BYTES} (SAFETENSORS_MAX_INDEX_BYTES)`, {
      path: indexPath,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(await fsp.readFile(indexPath, 'utf8'));
  } catch (error) {
    throw new FormatError(`not valid JSON (${(error as Error).message})`, { path: indexPath });
  }
  const root = json as { weight_map?: unknown; metadata?: unknown } | null;
  if (
    typeof root !== 'object' ||
    root === null ||
    typeof root.weight_map !== 'object' ||
    root.weight_map === null ||
    Array.isArray(root.weight_map)
  ) {
    throw new FormatError('has no "weight_map" object (tensor name -> shard file)', { path: indexPath });
  }
  const weightMap = new Map<string, string>();
  for (const [name, shard] of Object.entries(root.weight_map as Record<string, unknown>)) {
    if (typeof shard !== 'string' || !isSafeShardName(shard)) {
      throw new FormatError(`"weight_map" entry ${JSON.stringify(shard)} is not a shard file name inside the model folder`, {
        path: indexPath,
        tensor: name,
      });
    }
    weightMap.set(name, shard);
  }
  if (weightMap.size === 0) throw new FormatError('"weight_map" is empty', { path: indexPath });
  const metadata = typeof root.metadata === 'object' && root.metadata !== null ? (root.metadata as Record<string, unknown>) : undefined;
  return { metadata, weightMap };
}

/** A relative path that stays inside the model folder (no absolute paths, no ".."). */
function isSafeShardName(shard: string): boolean {
  if (shard.length === 0 || path.isAbsolute(shard) || shard.includes('\\')) return false;
  return shard.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
}

export interface ByteRange {
  /** First byte, relative to the tensor's data. */
  start: number;
  /** One past the last byte, relative to the tensor's data. */
  end: number;
}

/**
 * Reads a tensor's raw little-endian bytes (or a byte range of them, for streaming a tensor larger
 * than memory should hold). The returned buffer starts at byteOffset 0, so typed views are aligned.
 */
export async function readTensorBytes(t: SafetensorsTensor, range?: ByteRange): Promise<Buffer> {
  const start = range?.start ?? 0;
  const end = range?.end ?? t.byteLength;
  if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && start >= 0 && start <= end && end <= t.byteLength)) {
    throw new RangeError(`byte range [${start}, ${end}) is outside tensor "${t.name}" of ${t.byteLength} bytes`);
  }
  return readRange(t.file, t.dataOffset + start, end - start);
}

/** Dtypes that readTensorFloat32 converts. */
export const FLOAT32_READABLE_DTYPES = ['F32', 'F16', 'BF16', 'F64'] as const;

/** Reads a floating-point tensor as float32 (F16/BF16 exactly, F64 rounded to nearest even). */
export async function readTensorFloat32(t: SafetensorsTensor): Promise<Float32Array> {
  switch (t.dtype) {
    case 'F32':
      return typedView(await readTensorBytes(t), Float32Array);
    case 'F16':
      return f16ToF32Array(typedView(await readTensorBytes(t), Uint16Array));
    case 'BF16':
      return bf16ToF32Array(typedView(await readTensorBytes(t), Uint16Array));
    case 'F64':
      return f64ToF32Array(typedView(await readTensorBytes(t), Float64Array));
    default:
      throw new UnsupportedError(
        `${t.file}, tensor "${t.name}": cannot read ${t.dtype} as float32 (supported: ${FLOAT32_READABLE_DTYPES.join(', ')}); ` +
          `quantized or integer tensors need their own decoder`,
        { path: t.file, tensor: t.name, dtype: t.dtype },
      );
  }
}
