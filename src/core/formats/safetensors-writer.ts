/**
 * Streaming safetensors writer: tensors are declared up front (name, dtype, shape), the header is
 * written first, then each tensor's bytes in declared order as they are produced. The header is
 * compact JSON with sorted keys at every level (as MLX and Python's json with sort_keys write it),
 * padded with spaces so the data section starts 8-byte aligned, as the spec allows.
 */
import { FailureError, InternalError } from '../errors';
import { safetensorsByteLength, isSafetensorsDtype, type SafetensorsDtype } from './safetensors-dtypes';
import {
  SAFETENSORS_MAX_DIMS,
  SAFETENSORS_MAX_HEADER_BYTES,
  SAFETENSORS_MAX_NAME_BYTES,
  SAFETENSORS_MAX_TENSORS,
  SAFETENSORS_METADATA_KEY,
  SAFETENSORS_PREFIX_BYTES,
} from './safetensors-header';
import { TensorStream, type WrittenFile } from './tensor-stream';

export interface SafetensorsTensorSpec {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  /** Row-major (HF/PyTorch) order. */
  readonly shape: readonly number[];
}

export interface SafetensorsWriterOptions {
  /** The `__metadata__` string map (e.g. {format: "mlx"}); omitted from the header when undefined. */
  metadata?: Readonly<Record<string, string>>;
  signal?: AbortSignal;
}

/** Data start alignment; the spec pads the header with spaces to reach it. */
const DATA_ALIGNMENT = 8;

export interface SafetensorsLayout {
  /** The u64 length prefix followed by the padded JSON header. */
  readonly header: Buffer;
  /** Byte length of each tensor, in declared order. */
  readonly byteLengths: readonly number[];
}

/** Validates the specs and encodes the header (prefix included) for tensors laid out in declared order. */
export function encodeSafetensorsHeader(
  tensors: readonly SafetensorsTensorSpec[],
  metadata?: Readonly<Record<string, string>>,
): SafetensorsLayout {
  if (tensors.length > SAFETENSORS_MAX_TENSORS)
    throw new InternalError(`${tensors.length} tensors exceed the limit of ${SAFETENSORS_MAX_TENSORS} per file`);
  const entries: [string, unknown][] = [];
  const byteLengths: number[] = [];
  const seen = new Set<string>();
  let offset = 0;
  for (const t of tensors) {
    const byteLength = checkSpec(t, seen);
    entries.push([t.name, { data_offsets: [offset, offset + byteLength], dtype: t.dtype, shape: [...t.shape] }]);
    byteLengths.push(byteLength);
    offset += byteLength;
  }
  if (metadata !== undefined) entries.push([SAFETENSORS_METADATA_KEY, sortedMetadata(metadata)]);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const json = JSON.stringify(Object.fromEntries(entries));
  const jsonBytes = Buffer.byteLength(json);
  const padded = jsonBytes + ((DATA_ALIGNMENT - ((SAFETENSORS_PREFIX_BYTES + jsonBytes) % DATA_ALIGNMENT)) % DATA_ALIGNMENT);
  if (padded > SAFETENSORS_MAX_HEADER_BYTES)
    throw new InternalError(`header of ${padded} bytes exceeds the limit of ${SAFETENSORS_MAX_HEADER_BYTES}`);
  const header = Buffer.alloc(SAFETENSORS_PREFIX_BYTES + padded, 0x20);
  header.writeBigUInt64LE(BigInt(padded), 0);
  header.write(json, SAFETENSORS_PREFIX_BYTES, 'utf8');
  return { header, byteLengths };
}

function checkSpec(t: SafetensorsTensorSpec, seen: Set<string>): number {
  const bad = (message: string): never => {
    throw new InternalError(`safetensors tensor "${t.name}": ${message}`);
  };
  if (!t.name) bad('empty name');
  if (t.name === SAFETENSORS_METADATA_KEY) bad(`"${SAFETENSORS_METADATA_KEY}" is reserved`);
  if (Buffer.byteLength(t.name) > SAFETENSORS_MAX_NAME_BYTES) bad(`name longer than ${SAFETENSORS_MAX_NAME_BYTES} bytes`);
  if (seen.has(t.name)) bad('declared twice');
  seen.add(t.name);
  if (!isSafetensorsDtype(t.dtype)) bad(`unknown dtype "${String(t.dtype)}"`);
  if (t.shape.length > SAFETENSORS_MAX_DIMS) bad(`${t.shape.length} dimensions, more than ${SAFETENSORS_MAX_DIMS}`);
  if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) bad(`shape ${JSON.stringify(t.shape)} must hold non-negative integers`);
  const byteLength = safetensorsByteLength(t.dtype, t.shape);
  if (byteLength === undefined) bad(`shape ${JSON.stringify(t.shape)} of ${t.dtype} has no whole-byte size`);
  return byteLength!;
}

function sortedMetadata(metadata: Readonly<Record<string, string>>): Record<string, string> {
  const keys = Object.keys(metadata).sort();
  const out: Record<string, string> = {};
  for (const k of keys) {
    if (typeof metadata[k] !== 'string') throw new InternalError(`safetensors metadata "${k}" must be a string`);
    out[k] = metadata[k]!;
  }
  return out;
}

export class SafetensorsWriter {
  private constructor(private readonly stream: TensorStream) {}

  /** Validates the tensors, creates the temporary file and writes the header. */
  static async create(
    finalPath: string,
    tensors: readonly SafetensorsTensorSpec[],
    opts: SafetensorsWriterOptions = {},
  ): Promise<SafetensorsWriter> {
    const { header, byteLengths } = encodeSafetensorsHeader(tensors, opts.metadata);
    const declared = tensors.map((t, i) => ({ name: t.name, byteLength: byteLengths[i]! }));
    const stream = await TensorStream.open(finalPath, header, declared, { alignment: 1, signal: opts.signal });
    return new SafetensorsWriter(stream);
  }

  get path(): string {
    return this.stream.path;
  }

  /** The tensor whose bytes are expected next; undefined once all are written. */
  get nextTensor(): string | undefined {
    return this.stream.nextTensor;
  }

  /** Writes one whole tensor (little-endian bytes; one buffer or pieces), exactly its declared size. */
  writeTensor(name: string, data: ArrayBufferView | readonly ArrayBufferView[]): Promise<void> {
    return this.stream.write(name, data);
  }

  /** Appends a piece of the current tensor, for tensors produced in chunks. */
  writeTensorPart(name: string, chunk: ArrayBufferView): Promise<void> {
    return this.stream.writePart(name, chunk);
  }

  /** Renames the completed file into place; fails (and deletes it) when a tensor is missing. */
  finish(): Promise<WrittenFile> {
    return this.stream.finish();
  }

  /** Deletes the unfinished file. */
  abort(): Promise<void> {
    return this.stream.abort();
  }
}

export interface SafetensorsTensorData extends SafetensorsTensorSpec {
  readonly data: ArrayBufferView;
}

/** Writes a whole small file in one call (fixtures, configs of tiny models). */
export async function writeSafetensors(
  finalPath: string,
  tensors: readonly SafetensorsTensorData[],
  opts: SafetensorsWriterOptions = {},
): Promise<WrittenFile> {
  const writer = await SafetensorsWriter.create(finalPath, tensors, opts);
  try {
    for (const t of tensors) await writer.writeTensor(t.name, t.data);
    return await writer.finish();
  } catch (error) {
    await writer.abort();
    throw error instanceof Error ? error : new FailureError(String(error));
  }
}
