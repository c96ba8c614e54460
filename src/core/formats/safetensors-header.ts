/**
 * The safetensors header: an 8-byte little-endian length, then that many bytes of UTF-8 JSON
 * (`{"name": {"dtype", "shape", "data_offsets": [begin, end]}, ..., "__metadata__": {str: str}}`),
 * then the data section. Validation follows the spec strictly: every tensor's bytes lie in the data
 * section, tensors tile it exactly (no overlap, no gap, nothing after the last one), and each span is
 * numel x dtype size. Only the header is read here; tensor data is read one tensor at a time.
 */
import { promises as fsp } from 'node:fs';
import { FormatError, UnsupportedError } from '../errors';
import { readFully } from './file-reader';
import { SAFETENSORS_DTYPES, isSafetensorsDtype, safetensorsByteLength, type SafetensorsDtype } from './safetensors-dtypes';

/** The safetensors library's own ceiling; real headers are at most a few MB. */
export const SAFETENSORS_MAX_HEADER_BYTES = 100_000_000;
/** Tensors per file; the largest MoE checkpoints hold well under 200k per shard. */
export const SAFETENSORS_MAX_TENSORS = 1_000_000;
/** Dimensions per tensor. */
export const SAFETENSORS_MAX_DIMS = 8;
/** UTF-8 bytes of a tensor name. */
export const SAFETENSORS_MAX_NAME_BYTES = 1024;
/** Bytes before the JSON: the u64 header length. */
export const SAFETENSORS_PREFIX_BYTES = 8;

export const SAFETENSORS_METADATA_KEY = '__metadata__';

export interface SafetensorsTensor {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  /** Row-major (HF/PyTorch) order, as stored: the reverse of GGUF order. */
  readonly shape: readonly number[];
  /** Path of the file that holds the data. */
  readonly file: string;
  /** Absolute byte offset of the first byte in `file`. */
  readonly dataOffset: number;
  readonly byteLength: number;
}

export interface SafetensorsFile {
  readonly path: string;
  /** Length of the JSON header in bytes (the u64 prefix's value). */
  readonly headerLength: number;
  /** Absolute offset of the data section: 8 + headerLength. */
  readonly dataStart: number;
  readonly fileSize: number;
  readonly metadata: Readonly<Record<string, string>>;
  /** In data-section order. */
  readonly tensors: readonly SafetensorsTensor[];
}

/** Reads and validates the header of one .safetensors file, without reading tensor data. */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsFile> {
  const handle = await fsp.open(path, 'r');
  try {
    const { size: fileSize } = await handle.stat();
    if (fileSize < SAFETENSORS_PREFIX_BYTES) {
      throw new FormatError(`file has ${fileSize} bytes, too few for a safetensors header (8-byte length, then JSON)`, { path });
    }
    const prefix = Buffer.alloc(SAFETENSORS_PREFIX_BYTES);
    await readFully(handle, prefix, 0, SAFETENSORS_PREFIX_BYTES, path);
    const declared = prefix.readBigUInt64LE(0);
    if (declared > BigInt(SAFETENSORS_MAX_HEADER_BYTES)) {
      throw new FormatError(
        `header length ${declared} exceeds the limit of ${SAFETENSORS_MAX_HEADER_BYTES} bytes (SAFETENSORS_MAX_HEADER_BYTES); this is ` +
          `not a safetensors file, or it is corrupt`,
        { path, offset: 0 },
      );
    }
    const headerLength = Number(declared);
    if (SAFETENSORS_PREFIX_BYTES + headerLength > fileSize) {
      throw new FormatError(`header of ${headerLength} bytes runs past the end of the ${fileSize}-byte file; the file is truncated`, {
        path,
        offset: 0,
      });
    }
    const header = Buffer.alloc(headerLength);
    await readFully(handle, header, SAFETENSORS_PREFIX_BYTES, headerLength, path);
    return parseSafetensorsHeader(header, path, fileSize);
  } finally {
    await handle.close();
  }
}

/** Validates header JSON bytes (without the u64 prefix) for a file of `fileSize` bytes. */
export function parseSafetensorsHeader(header: Uint8Array, path: string, fileSize: number): SafetensorsFile {
  const dataStart = SAFETENSORS_PREFIX_BYTES + header.byteLength;
  const json = decodeHeaderJson(header, path);
  const entries = Object.entries(json);
  if (entries.length > SAFETENSORS_MAX_TENSORS + 1) {
    throw new FormatError(
      `header lists ${entries.length} entries, more than the limit of ${SAFETENSORS_MAX_TENSORS} tensors (SAFETENSORS_MAX_TENSORS)`,
      { path },
    );
  }
  let metadata: Record<string, string> = {};
  const spans: TensorSpan[] = [];
  for (const [name, entry] of entries) {
    if (name === SAFETENSORS_METADATA_KEY) metadata = parseMetadata(entry, path);
    else spans.push(parseTensorEntry(name, entry, path, dataStart));
  }
  const dataLength = fileSize - dataStart;
  checkTiling(spans, dataLength, path, dataStart);
  const tensors = spans.map((s) => s.tensor);
  return { path, headerLength: header.byteLength, dataStart, fileSize, metadata, tensors };
}

function decodeHeaderJson(header: Uint8Array, path: string): Record<string, unknown> {
  if (header.byteLength === 0 || header[0] !== 0x7b) {
    throw new FormatError(`header does not start with "{" (byte 8); this is not a safetensors file`, {
      path,
      offset: SAFETENSORS_PREFIX_BYTES,
    });
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(header);
  } catch {
    throw new FormatError('header is not valid UTF-8; the file is corrupt', { path, offset: SAFETENSORS_PREFIX_BYTES });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new FormatError(`header is not valid JSON (${(error as Error).message}); the file is corrupt or truncated`, {
      path,
      offset: SAFETENSORS_PREFIX_BYTES,
    });
  }
  if (!isPlainObject(parsed)) {
    throw new FormatError('header JSON is not an object of tensors', { path, offset: SAFETENSORS_PREFIX_BYTES });
  }
  return parsed;
}

function parseMetadata(entry: unknown, path: string): Record<string, string> {
  if (entry === null) return {};
  if (!isPlainObject(entry)) throw new FormatError(`"${SAFETENSORS_METADATA_KEY}" is not an object of strings`, { path });
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(entry)) {
    if (typeof value !== 'string') {
      throw new FormatError(`"${SAFETENSORS_METADATA_KEY}" value for "${key}" is ${typeName(value)}, but metadata values must be strings`, {
        path,
      });
    }
    out[key] = value;
  }
  return out;
}

interface TensorSpan {
  readonly begin: number;
  readonly end: number;
  readonly tensor: SafetensorsTensor;
}

function parseTensorEntry(name: string, entry: unknown, path: string, dataStart: number): TensorSpan {
  const fail = (message: string): never => {
    throw new FormatError(message, { path, tensor: name });
  };
  if (Buffer.byteLength(name) > SAFETENSORS_MAX_NAME_BYTES) {
    fail(
      `tensor name is ${Buffer.byteLength(name)} bytes, more than the limit of ${SAFETENSORS_MAX_NAME_BYTES} (SAFETENSORS_MAX_NAME_BYTES)`,
    );
  }
  if (name.length === 0) fail('a tensor has an empty name');
  if (!isPlainObject(entry)) return fail(`entry is ${typeName(entry)}, expected {"dtype", "shape", "data_offsets"}`);
  const { dtype, shape, data_offsets: offsets } = entry;
  if (typeof dtype !== 'string') return fail(`"dtype" is ${typeName(dtype)}, expected a string`);
  if (!isSafetensorsDtype(dtype)) {
    throw new UnsupportedError(
      `${path}, tensor "${name}": dtype "${dtype}" is not supported (supported: ${SAFETENSORS_DTYPES.join(', ')})`,
      { path, tensor: name, dtype },
    );
  }
  if (!Array.isArray(shape)) return fail(`"shape" is ${typeName(shape)}, expected an array of sizes`);
  if (shape.length > SAFETENSORS_MAX_DIMS)
    fail(`shape has ${shape.length} dimensions, more than the limit of ${SAFETENSORS_MAX_DIMS} (SAFETENSORS_MAX_DIMS)`);
  if (!shape.every(isSize)) fail(`"shape" ${JSON.stringify(shape)} must hold non-negative integers`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isSize)) {
    return fail(`"data_offsets" ${JSON.stringify(offsets)} must be [begin, end] with non-negative integers`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) fail(`"data_offsets" [${begin}, ${end}] end before they begin`);
  const byteLength = safetensorsByteLength(dtype, shape as number[]);
  if (byteLength === undefined)
    fail(`shape ${JSON.stringify(shape)} of ${dtype} has no representable byte size (too large, or a packed type ending mid-byte)`);
  if (end - begin !== byteLength) {
    throw new FormatError(
      `"data_offsets" [${begin}, ${end}] span ${end - begin} bytes, but ${dtype} ${JSON.stringify(shape)} needs ${byteLength}`,
      {
        path,
        tensor: name,
        offset: dataStart + begin,
      },
    );
  }
  const tensor: SafetensorsTensor = {
    name,
    dtype,
    shape: shape as number[],
    file: path,
    dataOffset: dataStart + begin,
    byteLength: end - begin,
  };
  return { begin, end, tensor };
}

/** Tensors must cover the data section exactly: sorted by begin, each starts where the last ended. */
function checkTiling(spans: TensorSpan[], dataLength: number, path: string, dataStart: number): void {
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  let previous: string | undefined;
  for (const { begin, end, tensor } of spans) {
    if (begin < expected) {
      throw new FormatError(`bytes [${begin}, ${end}) of the data section overlap tensor "${previous}", which ends at ${expected}`, {
        path,
        tensor: tensor.name,
        offset: dataStart + begin,
      });
    }
    if (begin > expected) {
      throw new FormatError(`${begin - expected} bytes of the data section before this tensor (from ${expected}) belong to no tensor`, {
        path,
        tensor: tensor.name,
        offset: dataStart + expected,
      });
    }
    expected = end;
    previous = tensor.name;
  }
  if (expected > dataLength) {
    throw new FormatError(
      `tensors need ${expected} bytes of data but the file holds ${Math.max(dataLength, 0)} after its header; the file is truncated ` +
        `(re-download it)`,
      { path, tensor: previous, offset: dataStart + Math.max(dataLength, 0) },
    );
  }
  if (expected < dataLength) {
    throw new FormatError(`${dataLength - expected} bytes after the last tensor belong to no tensor; the file is corrupt`, {
      path,
      offset: dataStart + expected,
    });
  }
}

function isSize(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function typeName(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}
