/**
 * The data pass: produces each GGUF tensor's bytes from its recipe in chunks of whole rows (whole
 * heads for rotary Q/K), so memory stays at a few chunk buffers whatever the model size. Reading
 * the next chunk overlaps converting and writing the current one; writes are large and sequential.
 */
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { FormatError, UnsupportedError, throwIfCancelled } from '../errors';
import { readFully } from '../formats/file-reader';
import type { SafetensorsDtype } from '../formats/safetensors';
import { CONVERTIBLE_DTYPES, convertElements, decodeToF32, dtypeBytes, encodeFromF32 } from './kernels';
import { writeMxfp4Tensor } from './mxfp4';
import { countNonFinite } from './non-finite';
import { writeRearranged } from './rearrange';
import type { SourceSegment, TensorRecipe } from './recipe';
import { SOURCE_REGIONS, createWasmArena, type WasmArena } from './wasm-kernel';

/** Target bytes of source data per chunk: large sequential reads, bounded memory. */
export const CHUNK_SOURCE_BYTES = 8 << 20;
/**
 * Bytes per buffer region: twice a chunk, so a chunk that widens (bf16 -> f32) still fits, and a
 * converted chunk fits the output's 16 MiB stage buffers, which come from the same memory.
 */
export const REGION_BYTES = 2 * CHUNK_SOURCE_BYTES;

export interface TensorSink {
  write(chunk: Uint8Array): Promise<void>;
  /** Optional zero-copy path: room for the next `n` bytes in the output's own buffer... */
  reserve?(n: number): Promise<Uint8Array>;
  /** ...appended by commit(n) once written there. */
  commit?(n: number): Promise<void>;
  /** The most bytes reserve() accepts. */
  maxReserve?: number;
}

interface Chunk {
  segment: SourceSegment;
  firstRow: number;
  rows: number;
}

/** Open source files, shared by every tensor of one conversion. */
export class SourceFiles {
  private readonly handles = new Map<string, Promise<FileHandle>>();

  get(path: string): Promise<FileHandle> {
    let h = this.handles.get(path);
    if (!h) this.handles.set(path, (h = fsp.open(path, 'r')));
    return h;
  }

  async close(): Promise<void> {
    const all = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(all.map(async (h) => (await h.catch(() => undefined))?.close()));
  }
}

/**
 * Reusable buffers: SOURCE_REGIONS for reads (all but one in flight) and two for converted output
 * (one being written). They live in the WebAssembly arena when there is one, so the SIMD kernel
 * reads and writes them without copies; the output regions are usually donated to the output
 * file as its stage buffers (see donateOutputs).
 */
export class Buffers {
  private readonly src: Uint8Array[] = [];
  private readonly out: Uint8Array[] = [];
  private f32: Float32Array | undefined;
  private readonly perm: Uint8Array[] = [];
  readonly arena: WasmArena | undefined = createWasmArena(REGION_BYTES);
  private donated = false;

  /**
   * Hands the arena's output regions to the output file as its stage buffers, so chunks convert
   * straight into the bytes that get written; this object then uses ordinary output buffers.
   */
  donateOutputs(): readonly Uint8Array[] | undefined {
    if (!this.arena) return undefined;
    this.donated = true;
    return this.arena.outputs;
  }

  source(i: number, bytes: number): Uint8Array {
    if (this.arena && bytes <= this.arena.regionBytes) return this.arena.sources[i % SOURCE_REGIONS]!.subarray(0, bytes);
    return grow(this.src, i % SOURCE_REGIONS, bytes);
  }

  output(i: number, bytes: number): Uint8Array {
    if (this.arena && !this.donated && bytes <= this.arena.regionBytes) return this.arena.outputs[i % 2]!.subarray(0, bytes);
    return grow(this.out, i % 2, bytes);
  }

  permute(i: number, bytes: number): Uint8Array {
    return grow(this.perm, i % 2, bytes);
  }

  scratch(elements: number): Float32Array {
    if (!this.f32 || this.f32.length < elements) this.f32 = new Float32Array(Math.max(elements, CHUNK_SOURCE_BYTES / 2));
    return this.f32;
  }
}

function grow(list: Uint8Array[], i: number, bytes: number): Uint8Array {
  const have = list[i];
  if (!have || have.byteLength < bytes) list[i] = new Uint8Array(Math.max(bytes, REGION_BYTES));
  return list[i]!.subarray(0, bytes);
}

export function checkSourceDtype(r: TensorRecipe): void {
  for (const s of r.segments) {
    if (!CONVERTIBLE_DTYPES.includes(s.tensor.dtype)) {
      throw new UnsupportedError(
        `tensor ${s.tensor.name} is ${s.tensor.dtype}; the converter reads ${CONVERTIBLE_DTYPES.join(', ')} weights (quantized ` +
          `checkpoints such as FP8 are not supported yet; MXFP4 is read as gpt-oss experts only)`,
        { tensor: s.tensor.name, dtype: s.tensor.dtype },
      );
    }
  }
}

/** Splits the recipe's segments into chunks of whole rows (whole heads when Q/K are permuted). */
function chunksOf(r: TensorRecipe): Chunk[] {
  const chunks: Chunk[] = [];
  for (const segment of r.segments) {
    const rowBytes = segment.rowLength * dtypeBytes(segment.tensor.dtype);
    let step = Math.max(1, Math.floor(CHUNK_SOURCE_BYTES / rowBytes));
    const heads = r.transform.ropeHeads;
    if (heads) {
      const headRows = segment.rows / heads;
      if (!Number.isInteger(headRows) || headRows % 2 !== 0) {
        throw new FormatError(`${segment.rows} rows do not split into ${heads} rotary heads of an even size`, {
          tensor: segment.tensor.name,
        });
      }
      step = Math.max(headRows, step - (step % headRows));
    }
    for (let row = 0; row < segment.rows; row += step) {
      chunks.push({ segment, firstRow: segment.firstRow + row, rows: Math.min(step, segment.rows - row) });
    }
  }
  return chunks;
}

async function readChunk(files: SourceFiles, c: Chunk, target: Uint8Array): Promise<Uint8Array> {
  const t = c.segment.tensor;
  const rowBytes = c.segment.rowLength * dtypeBytes(t.dtype);
  const handle = await files.get(t.file);
  await readFully(handle, target, t.dataOffset + c.firstRow * rowBytes, target.byteLength, t.file);
  return target;
}

/** GGML rope layout: within each head of `headRows` rows, row j*half+i goes to 2i+j. */
function permuteRows(src: Uint8Array, dst: Uint8Array, rows: number, headRows: number, rowBytes: number): void {
  const half = headRows / 2;
  for (let head = 0; head < rows; head += headRows) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const from = (head + j * half + i) * rowBytes;
        dst.set(src.subarray(from, from + rowBytes), (head + 2 * i + j) * rowBytes);
      }
    }
  }
}

export interface TensorDataContext {
  files: SourceFiles;
  buffers?: Buffers;
  signal?: AbortSignal;
  /** Called with the output bytes of each chunk once written. */
  onBytes?: (bytes: number) => void;
  /** Called with the number of NaN or infinite output values of a chunk that has any. */
  onNonFinite?: (count: number) => void;
}

export function newBuffers(): Buffers {
  return new Buffers();
}

/** Converts one chunk into `target`; false when the source bytes are already in the output type. */
function convertChunk(r: TensorRecipe, c: Chunk, src: Uint8Array, target: Uint8Array, elements: number, buffers: Buffers): boolean {
  const dtype: SafetensorsDtype = c.segment.tensor.dtype;
  if (r.transform.add === undefined) {
    return convertElements(src, dtype, target, r.type, elements, () => buffers.scratch(elements), buffers.arena?.bf16ToF16);
  }
  const tmp = buffers.scratch(elements).subarray(0, elements);
  decodeToF32(src, dtype, elements, tmp);
  for (let k = 0; k < elements; k++) tmp[k] = tmp[k]! + r.transform.add;
  encodeFromF32(tmp, r.type, target);
  return true;
}

function reportNonFinite(out: Uint8Array, r: TensorRecipe, ctx: TensorDataContext): void {
  if (!ctx.onNonFinite) return;
  const n = countNonFinite(out, r.type);
  if (n > 0) ctx.onNonFinite(n);
}

/** Streams one tensor's converted bytes into `sink`. */
export async function writeTensorData(r: TensorRecipe, sink: TensorSink, ctx: TensorDataContext): Promise<void> {
  if (r.generated) {
    const bytes = new Uint8Array(r.generated.byteLength);
    encodeFromF32(r.generated, r.type, bytes);
    await sink.write(bytes);
    ctx.onBytes?.(bytes.byteLength);
    return;
  }
  if (r.mxfp4) return writeMxfp4Tensor(r, sink, ctx);
  checkSourceDtype(r);
  const buffers = ctx.buffers ?? new Buffers();
  if (r.transform.pick || r.transform.transpose) return writeRearranged(r, sink, { ...ctx, buffers });
  const outSize = dtypeBytes(r.type);
  const chunks = chunksOf(r);
  const sourceBytes = (c: Chunk) => c.rows * c.segment.rowLength * dtypeBytes(c.segment.tensor.dtype);
  const heads = r.transform.ropeHeads;
  const passthrough = r.transform.add === undefined && !heads && chunks.every((c) => c.segment.tensor.dtype === r.type);
  let pending: Promise<void> | undefined;
  // Reads run up to SOURCE_REGIONS - 1 chunks ahead (page-cache copies overlap each other too).
  const reads: Promise<Uint8Array>[] = [];
  const startRead = (k: number): void => {
    const chunk = chunks[k];
    if (!chunk) return;
    reads[k] = readChunk(ctx.files, chunk, buffers.source(k, sourceBytes(chunk)));
    reads[k]!.catch(() => undefined); // surfaced when awaited; never an unhandled rejection
  };
  for (let k = 0; k < SOURCE_REGIONS - 1; k++) startRead(k);
  for (let i = 0; i < chunks.length; i++) {
    throwIfCancelled(ctx.signal);
    const c = chunks[i]!;
    const src = await reads[i]!;
    delete reads[i];
    // A passthrough chunk is written straight from its source buffer, so the read that reuses the
    // buffer of the previous chunk waits until that chunk's write is done.
    if (passthrough && pending) await pending;
    startRead(i + SOURCE_REGIONS - 1);
    const elements = c.rows * c.segment.rowLength;
    const bytes = elements * outSize;
    if (sink.reserve && sink.commit && !heads && r.transform.add === undefined && bytes <= (sink.maxReserve ?? 0)) {
      // Zero-copy: convert straight into the output's stage buffer.
      if (pending) await pending;
      pending = undefined;
      const target = await sink.reserve(bytes);
      if (!convertChunk(r, c, src, target, elements, buffers)) target.set(src.subarray(0, bytes));
      reportNonFinite(target.subarray(0, bytes), r, ctx);
      await sink.commit(bytes);
      ctx.onBytes?.(bytes);
      continue;
    }
    let out: Uint8Array;
    if (passthrough) out = src;
    else {
      const target = buffers.output(i, bytes);
      const converted = convertChunk(r, c, src, target, elements, buffers);
      out = converted ? target : src;
      reportNonFinite(out.subarray(0, bytes), r, ctx);
      if (heads) {
        // The permuted copy alternates between two buffers, like the outputs: one may be in flight.
        const permuted = buffers.permute(i, out.byteLength);
        permuteRows(out, permuted, c.rows, c.segment.rows / heads, c.segment.rowLength * outSize);
        out = permuted;
      }
    }
    if (pending) await pending;
    const length = out.byteLength;
    pending = sink.write(out).then(() => ctx.onBytes?.(length));
    pending.catch(() => undefined); // surfaced when awaited
  }
  await pending;
}
