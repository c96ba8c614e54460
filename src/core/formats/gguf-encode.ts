/**
 * Encoding of the GGUF header (metadata and tensor infos) into one buffer, with every value checked
 * against its declared type first: a value that does not fit its type is a caller bug that would
 * otherwise be silently truncated in the file.
 */
import { InternalError } from '../errors';
import {
  GGUF_MAGIC,
  GGUF_MAX_ARRAY_DEPTH,
  GGUF_MAX_ARRAY_LENGTH,
  GGUF_MAX_KEY_BYTES,
  GGUF_MAX_STRING_BYTES,
  GGUF_VERSION,
  GgufValueType,
  ggufValueTypeName,
  isGgufValueType,
} from './gguf-constants';
import type { GgufArray, GgufKv, GgufScalar, GgufTensorInfo } from './gguf-types';
import { ggmlType } from './ggml-types';

/** A little-endian byte writer that doubles its buffer as needed. */
export class GrowableBuffer {
  buf = Buffer.allocUnsafe(64 * 1024);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  bytes(b: Uint8Array): void {
    this.reserve(b.byteLength);
    this.buf.set(b, this.length);
    this.length += b.byteLength;
  }

  u32(v: number): void {
    this.reserve(4);
    this.length = this.buf.writeUInt32LE(v, this.length);
  }

  u64(v: number | bigint): void {
    this.reserve(8);
    if (typeof v === 'number') this.safeU64(v);
    else this.length = this.buf.writeBigUInt64LE(v, this.length);
  }

  /** A safe-integer u64 without a BigInt: two u32 halves (header strings number in the 100 000s). */
  private safeU64(v: number): void {
    this.buf.writeUInt32LE(v % 0x100000000, this.length);
    this.buf.writeUInt32LE(Math.floor(v / 0x100000000), this.length + 4);
    this.length += 8;
  }

  string(s: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit: reserve that, write, then fill in the length.
    this.reserve(8 + s.length * 3);
    const n = this.buf.write(s, this.length + 8, 'utf8');
    this.safeU64(n);
    this.length += n;
  }

  scalar(type: GgufValueType, v: GgufScalar): void {
    this.reserve(8);
    const b = this.buf;
    const at = this.length;
    switch (type) {
      case GgufValueType.UINT8:
        this.length = b.writeUInt8(v as number, at);
        break;
      case GgufValueType.INT8:
        this.length = b.writeInt8(v as number, at);
        break;
      case GgufValueType.UINT16:
        this.length = b.writeUInt16LE(v as number, at);
        break;
      case GgufValueType.INT16:
        this.length = b.writeInt16LE(v as number, at);
        break;
      case GgufValueType.UINT32:
        this.length = b.writeUInt32LE(v as number, at);
        break;
      case GgufValueType.INT32:
        this.length = b.writeInt32LE(v as number, at);
        break;
      case GgufValueType.FLOAT32:
        this.length = b.writeFloatLE(v as number, at);
        break;
      case GgufValueType.BOOL:
        this.length = b.writeUInt8(v ? 1 : 0, at);
        break;
      case GgufValueType.UINT64:
        this.length = b.writeBigUInt64LE(BigInt(v as number | bigint), at);
        break;
      case GgufValueType.INT64:
        this.length = b.writeBigInt64LE(BigInt(v as number | bigint), at);
        break;
      case GgufValueType.FLOAT64:
        this.length = b.writeDoubleLE(v as number, at);
        break;
      case GgufValueType.STRING:
        this.string(v as string);
        break;
      default:
        throw new InternalError(`not a scalar type: ${type}`);
    }
  }

  result(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

const INT_RANGES: Partial<Record<GgufValueType, readonly [number, number]>> = {
  [GgufValueType.UINT8]: [0, 0xff],
  [GgufValueType.INT8]: [-0x80, 0x7f],
  [GgufValueType.UINT16]: [0, 0xffff],
  [GgufValueType.INT16]: [-0x8000, 0x7fff],
  [GgufValueType.UINT32]: [0, 0xffffffff],
  [GgufValueType.INT32]: [-0x80000000, 0x7fffffff],
};

const BIG_RANGES: Partial<Record<GgufValueType, readonly [bigint, bigint]>> = {
  [GgufValueType.UINT64]: [0n, (1n << 64n) - 1n],
  [GgufValueType.INT64]: [-(1n << 63n), (1n << 63n) - 1n],
};

/** Why `v` is not a valid value of `type`, or undefined when it is. */
function scalarProblem(type: GgufValueType, v: unknown): string | undefined {
  const name = ggufValueTypeName(type);
  const int = INT_RANGES[type];
  if (int) return Number.isInteger(v) && (v as number) >= int[0] && (v as number) <= int[1] ? undefined : `${String(v)} is not a ${name}`;
  const big = BIG_RANGES[type];
  if (big) {
    const ok = typeof v === 'bigint' || (typeof v === 'number' && Number.isSafeInteger(v));
    return ok && BigInt(v as number | bigint) >= big[0] && BigInt(v as number | bigint) <= big[1]
      ? undefined
      : `${String(v)} is not a ${name}`;
  }
  if (type === GgufValueType.FLOAT32 || type === GgufValueType.FLOAT64)
    return typeof v === 'number' ? undefined : `${String(v)} is not a number`;
  if (type === GgufValueType.BOOL) return typeof v === 'boolean' ? undefined : `${String(v)} is not a boolean`;
  if (type === GgufValueType.STRING) {
    if (typeof v !== 'string') return `${String(v)} is not a string`;
    return Buffer.byteLength(v) > GGUF_MAX_STRING_BYTES ? `string longer than ${GGUF_MAX_STRING_BYTES} bytes` : undefined;
  }
  return `type ${type} is not a scalar type`;
}

/** Throws an InternalError (the writer's caller built a bad value) naming `key` when `kv` does not match its declared types. */
export function checkGgufKv(key: string, kv: GgufKv, depth = 0): void {
  const bad = (message: string): never => {
    throw new InternalError(`GGUF metadata "${key}": ${message}`);
  };
  if (!isGgufValueType(kv.type)) bad(`unknown value type ${String(kv.type)}`);
  if (kv.type !== GgufValueType.ARRAY) {
    const problem = scalarProblem(kv.type, kv.value);
    if (problem) bad(problem);
    return;
  }
  if (depth >= GGUF_MAX_ARRAY_DEPTH) bad(`arrays nested deeper than ${GGUF_MAX_ARRAY_DEPTH}`);
  if (!isGgufValueType(kv.itemType)) bad(`unknown item type ${String(kv.itemType)}`);
  if (!Array.isArray(kv.value)) bad('array value is not an array');
  if (kv.value.length > GGUF_MAX_ARRAY_LENGTH) bad(`${kv.value.length} elements, more than ${GGUF_MAX_ARRAY_LENGTH}`);
  for (let i = 0; i < kv.value.length; i++) {
    const item = kv.value[i];
    if (kv.itemType === GgufValueType.ARRAY) {
      if (typeof item !== 'object' || item === null || (item as GgufArray).type !== GgufValueType.ARRAY)
        bad(`element ${i} is not a GgufArray`);
      checkGgufKv(`${key}[${i}]`, item as GgufArray, depth + 1);
    } else {
      const problem = scalarProblem(kv.itemType, item);
      if (problem) bad(`element ${i}: ${problem}`);
    }
  }
}

function encodeValue(out: GrowableBuffer, kv: GgufKv): void {
  if (kv.type !== GgufValueType.ARRAY) {
    out.scalar(kv.type, kv.value);
    return;
  }
  out.u32(kv.itemType);
  out.u64(kv.value.length);
  if (kv.itemType === GgufValueType.ARRAY) {
    for (const inner of kv.value as GgufArray[]) encodeValue(out, inner);
  } else {
    for (const v of kv.value as GgufScalar[]) out.scalar(kv.itemType, v);
  }
}

/** Key-value entries must already be checked (checkGgufKv). */
export function encodeGgufHeader(metadata: ReadonlyMap<string, GgufKv>, tensors: readonly GgufTensorInfo[]): Buffer {
  const out = new GrowableBuffer();
  out.bytes(GGUF_MAGIC);
  out.u32(GGUF_VERSION);
  out.u64(tensors.length);
  out.u64(metadata.size);
  for (const [key, kv] of metadata) {
    if (key.length === 0 || Buffer.byteLength(key) > GGUF_MAX_KEY_BYTES)
      throw new InternalError(`GGUF metadata key "${key.slice(0, 80)}" must have 1 to ${GGUF_MAX_KEY_BYTES} bytes`);
    out.string(key);
    out.u32(kv.type);
    if (kv.type === GgufValueType.ARRAY) {
      encodeValue(out, kv);
    } else {
      out.scalar(kv.type, kv.value);
    }
  }
  for (const t of tensors) {
    out.string(t.name);
    out.u32(t.shape.length);
    for (const d of t.shape) out.u64(d);
    out.u32(ggmlType(t.type).id);
    out.u64(t.offset);
  }
  return out.result();
}
