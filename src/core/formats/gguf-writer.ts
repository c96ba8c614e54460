/**
 * Streaming GGUF v3 writer. Metadata and tensor infos are declared first, then `writeHeader()`
 * writes them, then each tensor's data follows in declared order as it is produced, padded to the
 * alignment; nothing but the header is ever held in memory. The layout is the one llama.cpp's loader
 * insists on: tensor offsets are the running sum of the padded sizes in declared order. The file is
 * written under a temporary name and renamed by finish(), so an interrupted write leaves no .gguf.
 * The bytes go through a pluggable sink (TensorStream): buffered by default, staged with O_DIRECT
 * for the converter's multi-GB files.
 */
import { InternalError } from '../errors';
import { checkGgufKv, encodeGgufHeader } from './gguf-encode';
import {
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_KEY_ALIGNMENT,
  GGUF_MAX_ALIGNMENT,
  GGUF_MAX_DIMS,
  GGUF_MAX_TENSOR_COUNT,
  GGUF_MAX_TENSOR_NAME_BYTES,
  GgufValueType,
} from './gguf-constants';
import type { GgufArray, GgufKv, GgufScalar, GgufTensorInfo } from './gguf-types';
import { ggmlType, isGgmlTypeName, tensorBytes, type GgmlTypeName } from './ggml-types';
import type { SinkFactory } from './byte-sink';
import { TensorStream, type WrittenFile } from './tensor-stream';

export interface GgufTensorSpec {
  readonly name: string;
  /** GGUF order: ne[0] (the row length) first. */
  readonly shape: readonly number[];
  readonly type: GgmlTypeName;
}

export interface GgufWriterOptions {
  /** Data alignment; anything but 32 is recorded as general.alignment. */
  alignment?: number;
  signal?: AbortSignal;
  /** Where the bytes go (default: buffered writes to a temporary file). */
  sink?: SinkFactory;
  /** Computes the file's sha256 while writing (finish() returns it). */
  sha256?: boolean;
}

/** Builds an array value, e.g. an element of an array of arrays. */
export function ggufArrayValue(itemType: GgufValueType, values: ReadonlyArray<GgufScalar | GgufArray>): GgufArray {
  return { type: GgufValueType.ARRAY, itemType, value: values };
}

export class GgufWriter {
  private readonly metadata = new Map<string, GgufKv>();
  private readonly specs: { spec: GgufTensorSpec; byteLength: number }[] = [];
  private readonly names = new Set<string>();
  private stream: TensorStream | undefined;

  constructor(
    readonly path: string,
    private readonly opts: GgufWriterOptions = {},
  ) {
    if (opts.alignment !== undefined && opts.alignment !== GGUF_DEFAULT_ALIGNMENT) this.setUint32(GGUF_KEY_ALIGNMENT, opts.alignment);
  }

  /** Sets a key (replacing an earlier value in place; new keys keep insertion order). */
  set(key: string, kv: GgufKv): this {
    this.assertDeclaring(`set metadata "${key}"`);
    if (!key) throw new InternalError('GGUF metadata key must not be empty');
    checkGgufKv(key, kv);
    if (key === GGUF_KEY_ALIGNMENT) checkAlignment(kv);
    this.metadata.set(key, kv);
    return this;
  }

  setString(key: string, value: string): this {
    return this.set(key, { type: GgufValueType.STRING, value });
  }
  setBool(key: string, value: boolean): this {
    return this.set(key, { type: GgufValueType.BOOL, value });
  }
  setUint8(key: string, value: number): this {
    return this.set(key, { type: GgufValueType.UINT8, value });
  }
  setInt8(key: string, value: number): this {
    return this.set(key, { type: GgufValueType.INT8, value });
  }
  setUint16(key: string, value: number): this {
    return this.set(key, { type: GgufValueType.UINT16, value });
  }
  setInt16(key: string, value: number): this {
    return this.set(key, { type: GgufValueType.INT16, value });
  }
  setUint32(key: string, value: number): this {
    return this.set(key, { type: GgufValueType.UINT32, value });
  }
  setInt32(key: string, value: number): this {
    return this.set(key, { type: GgufValueType.INT32, value });
  }
  setFloat32(key: string, value: number): this {
    return this.set(key, { type: GgufValueType.FLOAT32, value });
  }
  setUint64(key: string, value: number | bigint): this {
    return this.set(key, { type: GgufValueType.UINT64, value });
  }
  setInt64(key: string, value: number | bigint): this {
    return this.set(key, { type: GgufValueType.INT64, value });
  }
  setFloat64(key: string, value: number): this {
    return this.set(key, { type: GgufValueType.FLOAT64, value });
  }
  /** An array of `itemType`; for arrays of arrays pass GgufValueType.ARRAY and ggufArrayValue() items. */
  setArray(key: string, itemType: GgufValueType, values: ReadonlyArray<GgufScalar | GgufArray>): this {
    return this.set(key, ggufArrayValue(itemType, values));
  }

  /** The alignment the data section will use. */
  get alignment(): number {
    const kv = this.metadata.get(GGUF_KEY_ALIGNMENT);
    return kv ? (kv.value as number) : GGUF_DEFAULT_ALIGNMENT;
  }

  /** Declares the next tensor; its data must later be written in this order. */
  addTensor(spec: GgufTensorSpec): this {
    this.assertDeclaring(`add tensor "${spec.name}"`);
    const bad = (message: string): never => {
      throw new InternalError(`GGUF tensor "${spec.name}": ${message}`);
    };
    if (!spec.name) bad('empty name');
    if (Buffer.byteLength(spec.name) > GGUF_MAX_TENSOR_NAME_BYTES)
      bad(`name longer than ${GGUF_MAX_TENSOR_NAME_BYTES} bytes (llama.cpp's limit)`);
    if (this.names.has(spec.name)) bad('declared twice');
    if (this.specs.length >= GGUF_MAX_TENSOR_COUNT) bad(`more than ${GGUF_MAX_TENSOR_COUNT} tensors`);
    if (!isGgmlTypeName(spec.type)) bad(`unknown ggml type "${String(spec.type)}"`);
    if (spec.shape.length < 1 || spec.shape.length > GGUF_MAX_DIMS)
      bad(`${spec.shape.length} dimensions; GGUF takes 1 to ${GGUF_MAX_DIMS}`);
    if (!spec.shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      bad(`shape [${spec.shape.join(', ')}] must hold non-negative integers`);
    const { blockSize } = ggmlType(spec.type);
    if (spec.shape[0]! % blockSize !== 0) bad(`row length ${spec.shape[0]} is not a multiple of ${spec.type}'s block size ${blockSize}`);
    const byteLength = tensorBytes(spec.type, spec.shape);
    if (!Number.isSafeInteger(byteLength)) bad('too large');
    this.names.add(spec.name);
    this.specs.push({ spec: { name: spec.name, shape: [...spec.shape], type: spec.type }, byteLength });
    return this;
  }

  /** Tensor infos with the offsets they will have (relative to the data section). */
  tensorInfos(): GgufTensorInfo[] {
    const alignment = this.alignment;
    let offset = 0;
    return this.specs.map(({ spec, byteLength }) => {
      const info = { ...spec, offset, byteLength };
      offset += Math.ceil(byteLength / alignment) * alignment;
      return info;
    });
  }

  /** Writes magic, metadata and tensor infos to the temporary file; no more declarations after this. */
  async writeHeader(): Promise<void> {
    this.assertDeclaring('write the header');
    const infos = this.tensorInfos();
    const header = encodeGgufHeader(this.metadata, infos);
    const { signal, sink, sha256 } = this.opts;
    this.stream = await TensorStream.open(this.path, header, infos, { alignment: this.alignment, signal, sink, sha256 });
  }

  /** The tensor whose data comes next; undefined once all are written. */
  get nextTensor(): string | undefined {
    return this.stream ? this.stream.nextTensor : this.specs[0]?.spec.name;
  }

  /** Writes one tensor's data (one buffer or pieces), which must be exactly its declared size. */
  async writeTensor(name: string, data: ArrayBufferView | readonly ArrayBufferView[]): Promise<void> {
    await this.open().write(name, data);
  }

  /** Appends a piece of the current tensor, for tensors produced in chunks (e.g. row blocks). */
  async writeTensorPart(name: string, chunk: ArrayBufferView): Promise<void> {
    await this.open().writePart(name, chunk);
  }

  /** The most bytes reserveTensorPart() hands out at once (0: the sink has no buffers of its own). */
  get maxReserve(): number {
    return this.stream?.maxReserve ?? 0;
  }

  /** Room for the next `n` bytes of tensor `name` in the sink's own buffer (zero-copy producers)... */
  async reserveTensorPart(name: string, n: number): Promise<Uint8Array> {
    return this.open().reserve(name, n);
  }

  /** ...appended as part of the tensor once written there. */
  async commitTensorPart(name: string, n: number): Promise<void> {
    await this.open().commit(name, n);
  }

  /** Checks every tensor was written, then renames the file into place. */
  async finish(): Promise<WrittenFile> {
    return this.open().finish();
  }

  /** Deletes the unfinished file (a no-op before writeHeader or after finish). */
  async abort(): Promise<void> {
    await this.stream?.abort();
  }

  private open(): TensorStream {
    if (!this.stream) throw new InternalError(`${this.path}: writeHeader() must come before tensor data`, { path: this.path });
    return this.stream;
  }

  private assertDeclaring(what: string): void {
    if (this.stream) throw new InternalError(`${this.path}: cannot ${what} after the header is written`, { path: this.path });
  }
}

function checkAlignment(kv: GgufKv): void {
  const a = kv.value;
  const ok = kv.type === GgufValueType.UINT32 && typeof a === 'number' && a > 0 && (a & (a - 1)) === 0 && a <= GGUF_MAX_ALIGNMENT;
  if (!ok) throw new InternalError(`GGUF "${GGUF_KEY_ALIGNMENT}" must be a u32 power of two up to ${GGUF_MAX_ALIGNMENT}`);
}

export interface GgufTensorData extends GgufTensorSpec {
  readonly data: ArrayBufferView;
}

/** Writes a whole small GGUF in one call (fixtures, vocab-only files). */
export async function writeGguf(
  path: string,
  content: { metadata?: Iterable<readonly [string, GgufKv]>; tensors?: readonly GgufTensorData[] },
  opts: GgufWriterOptions = {},
): Promise<WrittenFile> {
  const writer = new GgufWriter(path, opts);
  for (const [key, kv] of content.metadata ?? []) writer.set(key, kv);
  for (const t of content.tensors ?? []) writer.addTensor(t);
  await writer.writeHeader();
  try {
    for (const t of content.tensors ?? []) await writer.writeTensor(t.name, t.data);
    return await writer.finish();
  } catch (error) {
    await writer.abort();
    throw error;
  }
}
