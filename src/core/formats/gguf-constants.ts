/**
 * GGUF constants (ggml/include/gguf.h and docs/gguf.md of the pinned llama.cpp) and the limits this
 * project's reader and writer enforce. The limits protect against hostile or corrupt files; each is
 * far above what real models use, and where llama.cpp has a stricter rule (tensor names, dims) we
 * follow it, since a file llama.cpp rejects is of no use to us.
 */

/** "GGUF" as the first four bytes. */
export const GGUF_MAGIC = Buffer.from('GGUF', 'latin1');
/** The version this project writes. */
export const GGUF_VERSION = 3;
/** Versions the reader accepts: v2 and v3 share one layout (v3 only added big-endian files). */
export const GGUF_READABLE_VERSIONS: readonly number[] = [2, 3];
export const GGUF_DEFAULT_ALIGNMENT = 32;
export const GGUF_KEY_ALIGNMENT = 'general.alignment';

/** Metadata value types, as stored (u32) in the file. */
export enum GgufValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

/** Short names, as llama.cpp's gguf_type_name prints them. */
export const GGUF_VALUE_TYPE_NAMES: Readonly<Record<GgufValueType, string>> = {
  [GgufValueType.UINT8]: 'u8',
  [GgufValueType.INT8]: 'i8',
  [GgufValueType.UINT16]: 'u16',
  [GgufValueType.INT16]: 'i16',
  [GgufValueType.UINT32]: 'u32',
  [GgufValueType.INT32]: 'i32',
  [GgufValueType.FLOAT32]: 'f32',
  [GgufValueType.BOOL]: 'bool',
  [GgufValueType.STRING]: 'str',
  [GgufValueType.ARRAY]: 'arr',
  [GgufValueType.UINT64]: 'u64',
  [GgufValueType.INT64]: 'i64',
  [GgufValueType.FLOAT64]: 'f64',
};

/** Bytes of a fixed-size value type; undefined for STRING and ARRAY. */
export const GGUF_VALUE_TYPE_SIZE: Readonly<Partial<Record<GgufValueType, number>>> = {
  [GgufValueType.UINT8]: 1,
  [GgufValueType.INT8]: 1,
  [GgufValueType.UINT16]: 2,
  [GgufValueType.INT16]: 2,
  [GgufValueType.UINT32]: 4,
  [GgufValueType.INT32]: 4,
  [GgufValueType.FLOAT32]: 4,
  [GgufValueType.BOOL]: 1,
  [GgufValueType.UINT64]: 8,
  [GgufValueType.INT64]: 8,
  [GgufValueType.FLOAT64]: 8,
};

export function isGgufValueType(n: number): n is GgufValueType {
  return Number.isInteger(n) && n >= 0 && n <= GgufValueType.FLOAT64;
}

export function ggufValueTypeName(t: GgufValueType): string {
  return GGUF_VALUE_TYPE_NAMES[t] ?? `type ${t}`;
}

/** Key-value pairs per file (real files: a few dozen). */
export const GGUF_MAX_KV_COUNT = 1 << 20;
/** Tensors per file (the largest MoE GGUFs: a few thousand). */
export const GGUF_MAX_TENSOR_COUNT = 1 << 20;
/** UTF-8 bytes of a metadata key (the GGUF spec's bound). */
export const GGUF_MAX_KEY_BYTES = 65535;
/** UTF-8 bytes of one string value (chat templates are tens of KB). */
export const GGUF_MAX_STRING_BYTES = 64 * 1024 * 1024;
/** Elements of one array (vocabularies and merges: up to about a million). */
export const GGUF_MAX_ARRAY_LENGTH = 1 << 26;
/** Depth of arrays of arrays. */
export const GGUF_MAX_ARRAY_DEPTH = 8;
/** Bytes from the start of the file to the end of the tensor infos (tokenizer arrays: tens of MB). */
export const GGUF_MAX_HEADER_BYTES = 1024 * 1024 * 1024;
/** Tensor dimensions (GGML_MAX_DIMS). */
export const GGUF_MAX_DIMS = 4;
/** UTF-8 bytes of a tensor name: llama.cpp's GGML_MAX_NAME is 64 including the terminating NUL. */
export const GGUF_MAX_TENSOR_NAME_BYTES = 63;
/** Largest alignment accepted (general.alignment is a power of two; real files use 32). */
export const GGUF_MAX_ALIGNMENT = 1 << 24;
