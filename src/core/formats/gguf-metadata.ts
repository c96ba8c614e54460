/**
 * GGUF metadata values: decoding from the buffered header reader (with every length checked against
 * the limits and the bytes left in the file before anything is allocated), and typed getters.
 */
import { FormatError, InternalError } from '../errors';
import type { BufferedFileReader } from './file-reader';
import {
  GGUF_MAX_ARRAY_DEPTH,
  GGUF_MAX_ARRAY_LENGTH,
  GGUF_MAX_STRING_BYTES,
  GGUF_VALUE_TYPE_SIZE,
  GgufValueType,
  ggufValueTypeName,
  isGgufValueType,
} from './gguf-constants';
import type { GgufArray, GgufFile, GgufKv, GgufScalar } from './gguf-types';

/** Reads a u64 and returns it as a number, or throws when it cannot be a valid size. */
export async function readCount(r: BufferedFileReader, what: string, limit: number, limitName: string): Promise<number> {
  await r.need(8, what);
  const offset = r.offset;
  const n = r.buf.readBigUInt64LE(r.pos);
  r.pos += 8;
  if (n > BigInt(limit)) {
    throw new FormatError(`${what} is ${n}, more than the limit of ${limit} (${limitName}); the file is corrupt or hostile`, {
      path: r.path,
      offset,
    });
  }
  return Number(n);
}

/** Reads a length-prefixed UTF-8 string of at most `maxBytes`. */
export async function readString(r: BufferedFileReader, what: string, maxBytes: number, limitName: string): Promise<string> {
  const length = await readCount(r, `length of ${what}`, maxBytes, limitName);
  if (length > r.remainingInFile) {
    throw new FormatError(
      `${what} claims ${length} bytes but only ${r.remainingInFile} remain in the file; the file is truncated or corrupt`,
      {
        path: r.path,
        offset: r.offset - 8,
      },
    );
  }
  await r.need(length, what);
  const s = r.buf.toString('utf8', r.pos, r.pos + length);
  r.pos += length;
  return s;
}

export async function readValueType(r: BufferedFileReader, what: string): Promise<GgufValueType> {
  await r.need(4, what);
  const offset = r.offset;
  const t = r.buf.readUInt32LE(r.pos);
  r.pos += 4;
  if (!isGgufValueType(t)) {
    throw new FormatError(`${what} is ${t}, not a GGUF value type (0..${GgufValueType.FLOAT64})`, { path: r.path, offset });
  }
  return t;
}

/** Reads one value of type `type`; `what` names it for messages (e.g. `metadata "general.name"`). */
export async function readValue(r: BufferedFileReader, type: GgufValueType, what: string, depth = 0): Promise<GgufScalar | GgufArray> {
  if (type === GgufValueType.STRING) return readString(r, `string value of ${what}`, GGUF_MAX_STRING_BYTES, 'GGUF_MAX_STRING_BYTES');
  if (type === GgufValueType.ARRAY) return readArray(r, what, depth + 1);
  const size = GGUF_VALUE_TYPE_SIZE[type]!;
  if (r.available() < size) await r.need(size, `value of ${what}`);
  const v = decodeScalar(r.buf, r.pos, type);
  r.pos += size;
  return v;
}

function decodeScalar(buf: Buffer, at: number, type: GgufValueType): GgufScalar {
  switch (type) {
    case GgufValueType.UINT8:
      return buf.readUInt8(at);
    case GgufValueType.INT8:
      return buf.readInt8(at);
    case GgufValueType.UINT16:
      return buf.readUInt16LE(at);
    case GgufValueType.INT16:
      return buf.readInt16LE(at);
    case GgufValueType.UINT32:
      return buf.readUInt32LE(at);
    case GgufValueType.INT32:
      return buf.readInt32LE(at);
    case GgufValueType.FLOAT32:
      return buf.readFloatLE(at);
    case GgufValueType.BOOL:
      return buf.readUInt8(at) !== 0;
    case GgufValueType.UINT64:
      return buf.readBigUInt64LE(at);
    case GgufValueType.INT64:
      return buf.readBigInt64LE(at);
    case GgufValueType.FLOAT64:
      return buf.readDoubleLE(at);
    default:
      throw new InternalError(`not a scalar type: ${type}`);
  }
}

/** Smallest encoding of one element: what a hostile count is checked against. */
function minElementBytes(type: GgufValueType): number {
  if (type === GgufValueType.STRING) return 8;
  if (type === GgufValueType.ARRAY) return 12;
  return GGUF_VALUE_TYPE_SIZE[type]!;
}

async function readArray(r: BufferedFileReader, what: string, depth: number): Promise<GgufArray> {
  if (depth > GGUF_MAX_ARRAY_DEPTH) {
    throw new FormatError(`${what} nests arrays deeper than ${GGUF_MAX_ARRAY_DEPTH} (GGUF_MAX_ARRAY_DEPTH)`, {
      path: r.path,
      offset: r.offset,
    });
  }
  const itemType = await readValueType(r, `item type of ${what}`);
  const countOffset = r.offset;
  const count = await readCount(r, `length of array ${what}`, GGUF_MAX_ARRAY_LENGTH, 'GGUF_MAX_ARRAY_LENGTH');
  if (count * minElementBytes(itemType) > r.remainingInFile) {
    throw new FormatError(
      `array ${what} claims ${count} ${ggufValueTypeName(itemType)} elements, more than the ${r.remainingInFile} bytes left in the ` +
        `file hold`,
      {
        path: r.path,
        offset: countOffset,
      },
    );
  }
  const value: (GgufScalar | GgufArray)[] = new Array(count);
  const size = GGUF_VALUE_TYPE_SIZE[itemType];
  for (let i = 0; i < count; i++) {
    // Fast paths without a promise per element: vocabularies hold hundreds of thousands of them.
    if (size !== undefined) {
      if (r.available() < size) await r.need(size, `array ${what}`);
      value[i] = decodeScalar(r.buf, r.pos, itemType);
      r.pos += size;
    } else {
      value[i] = (itemType === GgufValueType.STRING && readBufferedString(r)) || (await readValue(r, itemType, what, depth));
    }
  }
  return { type: GgufValueType.ARRAY, itemType, value };
}

/** A string entirely inside the buffer, decoded synchronously; undefined to take the checked path. */
function readBufferedString(r: BufferedFileReader): string | undefined {
  if (r.available() < 8) return undefined;
  const length = r.buf.readUInt32LE(r.pos);
  if (r.buf.readUInt32LE(r.pos + 4) !== 0 || length > GGUF_MAX_STRING_BYTES || r.available() < 8 + length || length === 0) return undefined;
  const start = r.pos + 8;
  r.pos = start + length;
  return r.buf.toString('utf8', start, start + length);
}

type MetadataSource = Pick<GgufFile, 'path' | 'metadata'>;

/** The raw entry, or undefined. */
export function ggufValue(file: MetadataSource, key: string): GgufKv | undefined {
  return file.metadata.get(key);
}

function wrongType(file: MetadataSource, key: string, kv: GgufKv, expected: string): FormatError {
  const actual = kv.type === GgufValueType.ARRAY ? `an array of ${ggufValueTypeName(kv.itemType)}` : ggufValueTypeName(kv.type);
  return new FormatError(`metadata "${key}" is ${actual}, expected ${expected}`, { path: file.path });
}

export function ggufString(file: MetadataSource, key: string): string | undefined {
  const kv = file.metadata.get(key);
  if (kv === undefined) return undefined;
  if (kv.type !== GgufValueType.STRING) throw wrongType(file, key, kv, 'a string');
  return kv.value as string;
}

export function ggufBool(file: MetadataSource, key: string): boolean | undefined {
  const kv = file.metadata.get(key);
  if (kv === undefined) return undefined;
  if (kv.type !== GgufValueType.BOOL) throw wrongType(file, key, kv, 'a bool');
  return kv.value as boolean;
}

/** Any numeric type as a number; 64-bit integers must fit in a safe integer. */
export function ggufNumber(file: MetadataSource, key: string): number | undefined {
  const kv = file.metadata.get(key);
  if (kv === undefined) return undefined;
  if (kv.type === GgufValueType.ARRAY || typeof kv.value === 'string' || typeof kv.value === 'boolean')
    throw wrongType(file, key, kv, 'a number');
  return toSafeNumber(
    kv.value,
    () => new FormatError(`metadata "${key}" is ${kv.value}, too large for a safe integer`, { path: file.path }),
  );
}

function toSafeNumber(v: number | bigint, error: () => Error): number {
  if (typeof v === 'number') return v;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw error();
  return n;
}

/** The elements of an array value (scalars, or GgufArrays for arrays of arrays). */
export function ggufArray(file: MetadataSource, key: string): ReadonlyArray<GgufScalar | GgufArray> | undefined {
  const kv = file.metadata.get(key);
  if (kv === undefined) return undefined;
  if (kv.type !== GgufValueType.ARRAY) throw wrongType(file, key, kv, 'an array');
  return kv.value;
}

export function ggufStringArray(file: MetadataSource, key: string): readonly string[] | undefined {
  const kv = file.metadata.get(key);
  if (kv === undefined) return undefined;
  if (kv.type !== GgufValueType.ARRAY || kv.itemType !== GgufValueType.STRING) throw wrongType(file, key, kv, 'an array of strings');
  return kv.value as string[];
}

/** A numeric array as numbers (64-bit elements must be safe integers). */
export function ggufNumberArray(file: MetadataSource, key: string): number[] | undefined {
  const kv = file.metadata.get(key);
  if (kv === undefined) return undefined;
  const numeric = kv.type === GgufValueType.ARRAY && GGUF_VALUE_TYPE_SIZE[kv.itemType] !== undefined && kv.itemType !== GgufValueType.BOOL;
  if (!numeric) throw wrongType(file, key, kv, 'an array of numbers');
  const tooLarge = () => new FormatError(`metadata "${key}" holds an integer too large for a safe integer`, { path: file.path });
  return (kv.value as (number | bigint)[]).map((v) => toSafeNumber(v, tooLarge));
}
