/**
 * GGUF reader (v2 and v3): magic, version, counts, metadata, tensor infos, alignment and the data
 * offset, read with bounded buffered reads so a 100 GB file costs only its header. Every count and
 * length is checked against a named limit and against the bytes left in the file before it is
 * trusted, and the tensor layout is validated (known types, whole blocks, aligned, inside the file,
 * no overlaps), so a truncated or hostile file fails here with a FormatError, not later.
 */
import { promises as fsp } from 'node:fs';
import { FormatError, UnsupportedError } from '../errors';
import { BufferedFileReader, readRange } from './file-reader';
import {
  GGUF_KEY_ALIGNMENT,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_MAX_ALIGNMENT,
  GGUF_MAX_DIMS,
  GGUF_MAX_HEADER_BYTES,
  GGUF_MAX_KEY_BYTES,
  GGUF_MAX_KV_COUNT,
  GGUF_MAX_TENSOR_COUNT,
  GGUF_MAX_TENSOR_NAME_BYTES,
  GGUF_READABLE_VERSIONS,
  GgufValueType,
} from './gguf-constants';
import { readCount, readString, readValue, readValueType } from './gguf-metadata';
import type { GgufFile, GgufKv, GgufTensorInfo } from './gguf-types';
import { GGML_TYPE_NAMES, ggmlTypeById, tensorBytes } from './ggml-types';

export * from './gguf-constants';
export * from './gguf-types';
export { ggufArray, ggufBool, ggufNumber, ggufNumberArray, ggufString, ggufStringArray, ggufValue } from './gguf-metadata';

/** Magic, version, tensor count and kv count. */
const PREAMBLE_BYTES = 24;
/** Smallest encodings, used to reject counts the file cannot hold: key + type + 1-byte value. */
const MIN_KV_BYTES = 8 + 1 + 4 + 1;
/** Name length + 1-byte name + n_dims + type + offset. */
const MIN_TENSOR_INFO_BYTES = 8 + 1 + 4 + 4 + 8;

/** Reads and validates the header of a GGUF file (not its tensor data); stops with CancelledError when `signal` fires. */
export async function readGgufHeader(path: string, opts: { signal?: AbortSignal } = {}): Promise<GgufFile> {
  const handle = await fsp.open(path, 'r');
  try {
    const { size: fileSize } = await handle.stat();
    const r = new BufferedFileReader(handle, path, fileSize, opts.signal);
    const version = await readPreamble(r);
    const tensorCount = await readCount(r, 'tensor count', GGUF_MAX_TENSOR_COUNT, 'GGUF_MAX_TENSOR_COUNT');
    const kvCount = await readCount(r, 'metadata key-value count', GGUF_MAX_KV_COUNT, 'GGUF_MAX_KV_COUNT');
    if (kvCount * MIN_KV_BYTES + tensorCount * MIN_TENSOR_INFO_BYTES > r.remainingInFile) {
      throw new FormatError(
        `header claims ${kvCount} metadata entries and ${tensorCount} tensors, more than the ${r.remainingInFile} bytes left in the ` +
          `file hold; the file is truncated or corrupt`,
        {
          path,
          offset: 8,
        },
      );
    }
    const metadata = await readMetadata(r, kvCount);
    const alignment = alignmentOf(metadata, path);
    const tensors = await readTensorInfos(r, tensorCount);
    const dataOffset = tensorCount > 0 ? alignUp(r.offset, alignment) : r.offset;
    if (dataOffset > fileSize) {
      throw new FormatError(`data section would start at ${dataOffset}, past the end of the ${fileSize}-byte file; the file is truncated`, {
        path,
        offset: r.offset,
      });
    }
    checkTensorLayout(tensors, { path, alignment, dataOffset, fileSize });
    return { path, version, metadata, tensors, alignment, dataOffset, fileSize };
  } finally {
    await handle.close();
  }
}

async function readPreamble(r: BufferedFileReader): Promise<number> {
  if (r.fileSize < PREAMBLE_BYTES) {
    throw new FormatError(`file has ${r.fileSize} bytes, too few for a GGUF header (${PREAMBLE_BYTES})`, { path: r.path, offset: 0 });
  }
  await r.need(PREAMBLE_BYTES, 'the GGUF preamble');
  const magic = r.buf.subarray(0, 4);
  if (!magic.equals(GGUF_MAGIC)) {
    const shown = [...magic].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '?')).join('');
    throw new FormatError(`not a GGUF file: starts with "${shown}", expected "GGUF"`, { path: r.path, offset: 0 });
  }
  const version = r.buf.readUInt32LE(4);
  r.pos = 8;
  if (version === 0) throw new FormatError('GGUF version 0 is invalid; the file is corrupt', { path: r.path, offset: 4 });
  if ((version & 0xffff) === 0) {
    throw new UnsupportedError(
      `${r.path}: GGUF version field is ${version}: a big-endian GGUF file, which is not supported (use a little-endian file)`,
      { path: r.path, version },
    );
  }
  if (!GGUF_READABLE_VERSIONS.includes(version)) {
    const hint =
      version === 1 ? 'GGUF v1 is obsolete: convert the model again with a current llama.cpp' : 'the file may come from a newer llama.cpp';
    throw new UnsupportedError(
      `${r.path}: GGUF version ${version} is not supported (supported: ${GGUF_READABLE_VERSIONS.join(', ')}); ${hint}`,
      { path: r.path, version },
    );
  }
  return version;
}

function checkHeaderSize(r: BufferedFileReader): void {
  if (r.offset > GGUF_MAX_HEADER_BYTES) {
    throw new FormatError(`header passes ${GGUF_MAX_HEADER_BYTES} bytes (GGUF_MAX_HEADER_BYTES); the file is corrupt or hostile`, {
      path: r.path,
      offset: r.offset,
    });
  }
}

async function readMetadata(r: BufferedFileReader, kvCount: number): Promise<Map<string, GgufKv>> {
  const metadata = new Map<string, GgufKv>();
  for (let i = 0; i < kvCount; i++) {
    const keyOffset = r.offset;
    const key = await readString(r, `metadata key #${i}`, GGUF_MAX_KEY_BYTES, 'GGUF_MAX_KEY_BYTES');
    if (key.length === 0) throw new FormatError(`metadata key #${i} is empty`, { path: r.path, offset: keyOffset });
    if (metadata.has(key)) throw new FormatError(`metadata key "${key}" appears twice`, { path: r.path, offset: keyOffset });
    const type = await readValueType(r, `type of metadata "${key}"`);
    const value = await readValue(r, type, `metadata "${key}"`);
    metadata.set(key, (typeof value === 'object' ? value : { type, value }) as GgufKv);
    checkHeaderSize(r);
  }
  return metadata;
}

function alignmentOf(metadata: ReadonlyMap<string, GgufKv>, path: string): number {
  const kv = metadata.get(GGUF_KEY_ALIGNMENT);
  if (kv === undefined) return GGUF_DEFAULT_ALIGNMENT;
  if (kv.type !== GgufValueType.UINT32) throw new FormatError(`"${GGUF_KEY_ALIGNMENT}" must be a u32`, { path });
  const a = kv.value as number;
  if (a === 0 || (a & (a - 1)) !== 0 || a > GGUF_MAX_ALIGNMENT) {
    throw new FormatError(`"${GGUF_KEY_ALIGNMENT}" is ${a}, not a power of two up to ${GGUF_MAX_ALIGNMENT}`, { path });
  }
  return a;
}

async function readTensorInfos(r: BufferedFileReader, tensorCount: number): Promise<GgufTensorInfo[]> {
  const tensors: GgufTensorInfo[] = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const infoOffset = r.offset;
    const name = await readString(r, `name of tensor #${i}`, GGUF_MAX_TENSOR_NAME_BYTES, 'GGUF_MAX_TENSOR_NAME_BYTES');
    const fail = (message: string, offset = infoOffset): never => {
      throw new FormatError(message, { path: r.path, tensor: name, offset });
    };
    if (names.has(name)) fail('tensor name appears twice');
    names.add(name);
    await r.need(4, `tensor "${name}"`);
    const nDims = r.buf.readUInt32LE(r.pos);
    r.pos += 4;
    if (nDims > GGUF_MAX_DIMS) fail(`tensor has ${nDims} dimensions, more than ${GGUF_MAX_DIMS} (GGUF_MAX_DIMS)`);
    await r.need(nDims * 8 + 4 + 8, `tensor "${name}"`);
    const shape: number[] = [];
    for (let d = 0; d < nDims; d++) {
      const dim = r.buf.readBigUInt64LE(r.pos + d * 8);
      if (dim > BigInt(Number.MAX_SAFE_INTEGER)) fail(`dimension ${d} is ${dim}, too large`);
      shape.push(Number(dim));
    }
    r.pos += nDims * 8;
    const typeId = r.buf.readUInt32LE(r.pos);
    const offset = r.buf.readBigUInt64LE(r.pos + 4);
    r.pos += 12;
    const info = ggmlTypeById(typeId);
    if (!info) fail(`unknown ggml type id ${typeId} (known: ${GGML_TYPE_NAMES.join(', ')}); the file may come from a newer llama.cpp`);
    const rowLength = shape[0] ?? 1;
    if (rowLength % info!.blockSize !== 0)
      fail(`row length ${rowLength} is not a multiple of ${info!.name}'s block size ${info!.blockSize}`);
    const byteLength = sizeOf(info!.name, shape);
    if (byteLength === undefined) fail(`shape [${shape.join(', ')}] of ${info!.name} is too large`);
    if (offset > BigInt(Number.MAX_SAFE_INTEGER)) fail(`data offset ${offset} is too large`);
    tensors.push({ name, shape, type: info!.name, offset: Number(offset), byteLength: byteLength! });
    checkHeaderSize(r);
  }
  return tensors;
}

function sizeOf(type: GgufTensorInfo['type'], shape: number[]): number | undefined {
  let numel = 1;
  for (const d of shape) {
    numel *= d;
    if (!Number.isSafeInteger(numel)) return undefined;
  }
  // Products grow monotonically, so a result that is still a safe integer was computed exactly.
  const bytes = tensorBytes(type, shape);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

interface Layout {
  path: string;
  alignment: number;
  dataOffset: number;
  fileSize: number;
}

/** Aligned, inside the file, and no two tensors share a byte. Any order is accepted. */
function checkTensorLayout(tensors: readonly GgufTensorInfo[], layout: Layout): void {
  const { path, alignment, dataOffset, fileSize } = layout;
  const dataSize = fileSize - dataOffset;
  for (const t of tensors) {
    if (t.offset % alignment !== 0) {
      throw new FormatError(`data offset ${t.offset} is not a multiple of the alignment ${alignment}`, {
        path,
        tensor: t.name,
        offset: dataOffset + t.offset,
      });
    }
    if (t.offset + t.byteLength > dataSize) {
      throw new FormatError(
        `data [${t.offset}, ${t.offset + t.byteLength}) of the data section runs past the end of the file (${dataSize} data bytes); ` +
          `the file is truncated`,
        {
          path,
          tensor: t.name,
          offset: dataOffset + t.offset,
        },
      );
    }
  }
  const sorted = [...tensors].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const t = sorted[i]!;
    if (t.offset < prev.offset + prev.byteLength) {
      throw new FormatError(`data at ${t.offset} overlaps tensor "${prev.name}" ([${prev.offset}, ${prev.offset + prev.byteLength}))`, {
        path,
        tensor: t.name,
        offset: dataOffset + t.offset,
      });
    }
  }
}

export function alignUp(n: number, alignment: number): number {
  const rem = n % alignment;
  return rem === 0 ? n : n + alignment - rem;
}

/** The tensor info with this name, or undefined. */
export function findGgufTensor(file: GgufFile, name: string): GgufTensorInfo | undefined {
  return file.tensors.find((t) => t.name === name);
}

/** Reads one tensor's raw bytes (or a byte range of them); the buffer starts at byteOffset 0. */
export async function readGgufTensorBytes(file: GgufFile, info: GgufTensorInfo, range?: { start: number; end: number }): Promise<Buffer> {
  const start = range?.start ?? 0;
  const end = range?.end ?? info.byteLength;
  if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && start >= 0 && start <= end && end <= info.byteLength)) {
    throw new RangeError(`byte range [${start}, ${end}) is outside tensor "${info.name}" of ${info.byteLength} bytes`);
  }
  return readRange(file.path, file.dataOffset + info.offset + start, end - start);
}
