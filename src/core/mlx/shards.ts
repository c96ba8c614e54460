/**
 * The safetensors files of an MLX model: tensors in name order, split into shards the way mlx_lm
 * does (a new shard starts when the next tensor would take the current one past 5 GiB), each with
 * a sorted-key header carrying {"format": "mlx"}, plus model.safetensors.index.json.
 *
 * Data is written positionally, not as a stream: a quantized weight yields three tensors (words,
 * scales, biases) chunk by chunk, and every chunk goes straight to its place in all three, so
 * memory stays at a few chunks whatever the tensor size. The whole folder is written atomically
 * by the caller, so the files need no temporary names of their own.
 */
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { FailureError } from '../errors';
import { safetensorsByteLength, type SafetensorsDtype } from '../formats/safetensors-dtypes';
import { encodeSafetensorsHeader } from '../formats/safetensors-writer';
import { pythonJson } from './config';
import { compareNames } from './names';

/** mlx_lm's shard limit (max_file_size_gb=5, in GiB). */
export const MLX_MAX_SHARD_BYTES = 5 * 2 ** 30;
export const MLX_SAFETENSORS_METADATA = { format: 'mlx' } as const;
export const MLX_SINGLE_FILE = 'model.safetensors';
export const MLX_INDEX_FILE = 'model.safetensors.index.json';

export interface OutputTensor {
  name: string;
  dtype: SafetensorsDtype;
  /** Row-major shape. */
  shape: number[];
}

export interface ShardLayout {
  file: string;
  tensors: OutputTensor[];
  header: Buffer;
  /** Absolute file offset of each tensor's data. */
  offsets: Map<string, number>;
  byteLengths: Map<string, number>;
  bytes: number;
}

function byteLengthOf(t: OutputTensor): number {
  const n = safetensorsByteLength(t.dtype, t.shape);
  if (n === undefined) throw new FailureError(`tensor ${t.name}: ${t.dtype} [${t.shape.join(', ')}] has no whole-byte size`);
  return n;
}

/**
 * Sorts the tensors by name and splits them into shards of at most `maxBytes` (unless one tensor
 * is larger); each header carries `metadata` ({"format": "mlx"} for MLX models).
 */
export function planShards(
  tensors: readonly OutputTensor[],
  maxBytes = MLX_MAX_SHARD_BYTES,
  metadata: Readonly<Record<string, string>> = MLX_SAFETENSORS_METADATA,
): ShardLayout[] {
  const sorted = [...tensors].sort((a, b) => compareNames(a.name, b.name));
  const groups: OutputTensor[][] = [];
  let current: OutputTensor[] = [];
  let size = 0;
  for (const t of sorted) {
    const n = byteLengthOf(t);
    if (current.length > 0 && size + n > maxBytes) {
      groups.push(current);
      current = [];
      size = 0;
    }
    current.push(t);
    size += n;
  }
  if (current.length > 0 || groups.length === 0) groups.push(current);
  const count = groups.length;
  return groups.map((group, i) => {
    const file = count === 1 ? MLX_SINGLE_FILE : `model-${String(i + 1).padStart(5, '0')}-of-${String(count).padStart(5, '0')}.safetensors`;
    const { header, byteLengths } = encodeSafetensorsHeader(group, metadata);
    const offsets = new Map<string, number>();
    const lengths = new Map<string, number>();
    let offset = header.length;
    group.forEach((t, k) => {
      offsets.set(t.name, offset);
      lengths.set(t.name, byteLengths[k]!);
      offset += byteLengths[k]!;
    });
    return { file, tensors: group, header, offsets, byteLengths: lengths, bytes: offset };
  });
}

/** The index mlx_lm writes next to the shards (also for a single file). */
export function shardIndexJson(shards: readonly ShardLayout[], totalParameters: number): string {
  const weightMap: Record<string, string> = {};
  let totalSize = 0;
  for (const s of shards) {
    for (const t of s.tensors) {
      weightMap[t.name] = s.file;
      totalSize += s.byteLengths.get(t.name)!;
    }
  }
  return `${pythonJson({ metadata: { total_size: totalSize, total_parameters: totalParameters }, weight_map: weightMap })}\n`;
}

/** Open shard files accepting positional writes into any tensor; checks on close that every byte was written. */
export class ShardWriter {
  private readonly where = new Map<string, { handle: FileHandle; offset: number; byteLength: number; shard: string }>();
  private readonly written = new Map<string, number>();

  private constructor(private readonly handles: FileHandle[]) {}

  static async create(dir: string, shards: readonly ShardLayout[]): Promise<ShardWriter> {
    const handles: FileHandle[] = [];
    try {
      for (const s of shards) {
        const handle = await fsp.open(path.join(dir, s.file), 'wx');
        handles.push(handle);
        await handle.write(s.header, 0, s.header.length, 0);
        await handle.truncate(s.bytes);
      }
    } catch (error) {
      await Promise.all(handles.map((h) => h.close().catch(() => undefined)));
      throw error;
    }
    const writer = new ShardWriter(handles);
    shards.forEach((s, i) => {
      for (const t of s.tensors) {
        writer.where.set(t.name, {
          handle: handles[i]!,
          offset: s.offsets.get(t.name)!,
          byteLength: s.byteLengths.get(t.name)!,
          shard: s.file,
        });
        writer.written.set(t.name, 0);
      }
    });
    return writer;
  }

  /** Writes `data` at byte `at` of tensor `name`'s data. */
  async write(name: string, at: number, data: ArrayBufferView): Promise<void> {
    const w = this.where.get(name);
    if (!w) throw new FailureError(`internal: no tensor "${name}" declared in the MLX output`);
    if (at < 0 || at + data.byteLength > w.byteLength) {
      throw new FailureError(`internal: write of ${data.byteLength} bytes at ${at} overflows tensor "${name}" of ${w.byteLength} bytes`);
    }
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await w.handle.write(bytes, done, bytes.length - done, w.offset + at + done);
      done += bytesWritten;
    }
    this.written.set(name, this.written.get(name)! + bytes.length);
  }

  /** Closes every file; throws if a tensor did not receive exactly its size in bytes. */
  async close(): Promise<void> {
    await Promise.all(this.handles.map((h) => h.close()));
    for (const [name, n] of this.written) {
      const expected = this.where.get(name)!.byteLength;
      if (n !== expected) throw new FailureError(`internal: tensor "${name}" received ${n} of its ${expected} bytes`);
    }
  }

  async abort(): Promise<void> {
    await Promise.all(this.handles.map((h) => h.close().catch(() => undefined)));
  }
}
