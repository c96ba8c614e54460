/**
 * Chunked reads of safetensors tensors as float arrays in a chosen dtype, and a small window of
 * in-flight work: the MLX writer and dequantizer stream tensors in row chunks so that memory stays
 * at a few chunks whatever the model size.
 */
import { UnsupportedError } from '../errors';
import { bf16ToF16Array, bf16ToF32Array, f16ToF32Array, f32ToBf16Array, f32ToF16Array, f64ToF32Array, typedView } from '../formats/float';
import { readTensorBytes, type SafetensorsTensor } from '../formats/safetensors';
import type { MlxFloatDtype } from './affine';

/** Source bytes read per chunk. */
export const MLX_CHUNK_BYTES = 8 * 2 ** 20;

export const FLOAT_DTYPES: readonly string[] = ['F32', 'F16', 'BF16', 'F64'];

export function isFloatDtype(dtype: string): boolean {
  return FLOAT_DTYPES.includes(dtype);
}

/** The MLX dtype named by a config's torch_dtype / dtype, or undefined. */
export function mlxDtypeFromConfig(value: unknown): MlxFloatDtype | undefined {
  switch (value) {
    case 'bfloat16':
      return 'BF16';
    case 'float16':
    case 'half':
      return 'F16';
    case 'float32':
    case 'float':
      return 'F32';
    default:
      return undefined;
  }
}

export function itemBytes(dtype: MlxFloatDtype): number {
  return dtype === 'F32' ? 4 : 2;
}

/**
 * Float values of `bytes` (dtype `from`) in dtype `to` (round to nearest even when narrowing),
 * as an array that owns its buffer (so it can be transferred to a worker).
 */
export function convertFloats(bytes: Buffer, from: string, to: MlxFloatDtype, where: string): Uint16Array | Float32Array {
  if (from === to) return to === 'F32' ? typedView(bytes, Float32Array) : typedView(bytes, Uint16Array);
  let f32: Float32Array;
  switch (from) {
    case 'BF16':
      if (to === 'F16') return bf16ToF16Array(typedView(bytes, Uint16Array));
      f32 = bf16ToF32Array(typedView(bytes, Uint16Array));
      break;
    case 'F16':
      f32 = f16ToF32Array(typedView(bytes, Uint16Array));
      break;
    case 'F32':
      f32 = typedView(bytes, Float32Array);
      break;
    case 'F64':
      f32 = f64ToF32Array(typedView(bytes, Float64Array));
      break;
    default:
      throw new UnsupportedError(`${where}: cannot convert ${from} to ${to} (float tensors of ${FLOAT_DTYPES.join(', ')} only)`);
  }
  if (to === 'F32') return f32;
  return to === 'BF16' ? f32ToBf16Array(f32) : f32ToF16Array(f32);
}

export interface RowChunk {
  /** First row (of the tensor's rows of `rowLength` elements) in this chunk. */
  row: number;
  rows: number;
  bytes: Buffer;
}

/** Reads a tensor in chunks of whole rows of `rowLength` elements, about `chunkBytes` each. */
export async function* readRowChunks(t: SafetensorsTensor, rowLength: number, chunkBytes = MLX_CHUNK_BYTES): AsyncGenerator<RowChunk> {
  const numel = t.shape.reduce((a, b) => a * b, 1);
  const rowBytes = numel === 0 ? 0 : (t.byteLength / numel) * rowLength;
  const totalRows = rowLength === 0 ? 0 : numel / rowLength;
  const perChunk = Math.max(1, Math.floor(chunkBytes / Math.max(1, rowBytes)));
  for (let row = 0; row < totalRows; row += perChunk) {
    const rows = Math.min(perChunk, totalRows - row);
    yield { row, rows, bytes: await readTensorBytes(t, { start: row * rowBytes, end: (row + rows) * rowBytes }) };
  }
}

/**
 * At most `limit` promises in flight; `add` waits for the oldest when full. A rejection surfaces
 * at the next add/drain, after which the rest are still awaited (settled) so nothing runs on
 * behind the caller's back.
 */
export class Inflight {
  private readonly queue: Promise<void>[] = [];

  constructor(private readonly limit: number) {}

  async add(p: Promise<void>): Promise<void> {
    p.catch(() => undefined); // handled when awaited; avoids an unhandled-rejection report meanwhile
    this.queue.push(p);
    while (this.queue.length >= this.limit) await this.shift();
  }

  async drain(): Promise<void> {
    while (this.queue.length) await this.shift();
  }

  /** Waits for everything without throwing (cleanup after an error). */
  async settle(): Promise<void> {
    await Promise.allSettled(this.queue.splice(0));
  }

  private async shift(): Promise<void> {
    const p = this.queue.shift()!;
    try {
      await p;
    } catch (error) {
      await this.settle();
      throw error;
    }
  }
}
