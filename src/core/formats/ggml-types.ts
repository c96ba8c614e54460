/**
 * The ggml tensor types: ids as stored in GGUF tensor infos, block size (elements per block) and
 * bytes per block, as in ggml's type traits (ggml/src/ggml.c, ggml-common.h of the pinned release).
 * Lets any plan's size be computed without quantizing.
 */

export interface GgmlTypeInfo {
  readonly name: GgmlTypeName;
  readonly id: number;
  readonly blockSize: number;
  readonly typeSize: number;
  readonly quantized: boolean;
}

export const GGML_TYPE_NAMES = [
  'F32',
  'F16',
  'Q4_0',
  'Q4_1',
  'Q5_0',
  'Q5_1',
  'Q8_0',
  'Q8_1',
  'Q2_K',
  'Q3_K',
  'Q4_K',
  'Q5_K',
  'Q6_K',
  'Q8_K',
  'IQ2_XXS',
  'IQ2_XS',
  'IQ3_XXS',
  'IQ1_S',
  'IQ4_NL',
  'IQ3_S',
  'IQ2_S',
  'IQ4_XS',
  'I8',
  'I16',
  'I32',
  'I64',
  'F64',
  'IQ1_M',
  'BF16',
  'TQ1_0',
  'TQ2_0',
  'MXFP4',
  'NVFP4',
  'Q1_0',
  'Q2_0',
] as const;

export type GgmlTypeName = (typeof GGML_TYPE_NAMES)[number];

const QK_K = 256;

// [name, id, block size, bytes per block, quantized]
const TABLE: ReadonlyArray<readonly [GgmlTypeName, number, number, number, boolean]> = [
  ['F32', 0, 1, 4, false],
  ['F16', 1, 1, 2, false],
  ['Q4_0', 2, 32, 18, true],
  ['Q4_1', 3, 32, 20, true],
  ['Q5_0', 6, 32, 22, true],
  ['Q5_1', 7, 32, 24, true],
  ['Q8_0', 8, 32, 34, true],
  ['Q8_1', 9, 32, 36, true],
  ['Q2_K', 10, QK_K, 84, true],
  ['Q3_K', 11, QK_K, 110, true],
  ['Q4_K', 12, QK_K, 144, true],
  ['Q5_K', 13, QK_K, 176, true],
  ['Q6_K', 14, QK_K, 210, true],
  ['Q8_K', 15, QK_K, 292, true],
  ['IQ2_XXS', 16, QK_K, 66, true],
  ['IQ2_XS', 17, QK_K, 74, true],
  ['IQ3_XXS', 18, QK_K, 98, true],
  ['IQ1_S', 19, QK_K, 50, true],
  ['IQ4_NL', 20, 32, 18, true],
  ['IQ3_S', 21, QK_K, 110, true],
  ['IQ2_S', 22, QK_K, 82, true],
  ['IQ4_XS', 23, QK_K, 136, true],
  ['I8', 24, 1, 1, false],
  ['I16', 25, 1, 2, false],
  ['I32', 26, 1, 4, false],
  ['I64', 27, 1, 8, false],
  ['F64', 28, 1, 8, false],
  ['IQ1_M', 29, QK_K, 56, true],
  ['BF16', 30, 1, 2, false],
  ['TQ1_0', 34, QK_K, 54, true],
  ['TQ2_0', 35, QK_K, 66, true],
  ['MXFP4', 39, 32, 17, true],
  ['NVFP4', 40, 64, 36, true],
  ['Q1_0', 41, 128, 18, true],
  ['Q2_0', 42, 64, 18, true],
];

const BY_NAME = new Map<string, GgmlTypeInfo>();
const BY_ID = new Map<number, GgmlTypeInfo>();
for (const [name, id, blockSize, typeSize, quantized] of TABLE) {
  const info = Object.freeze({ name, id, blockSize, typeSize, quantized });
  BY_NAME.set(name, info);
  BY_ID.set(id, info);
}

export function isGgmlTypeName(name: string): name is GgmlTypeName {
  return BY_NAME.has(name);
}

export function ggmlType(name: GgmlTypeName): GgmlTypeInfo {
  return BY_NAME.get(name)!;
}

/** The type with this GGUF id, or undefined for an id this release does not know. */
export function ggmlTypeById(id: number): GgmlTypeInfo | undefined {
  return BY_ID.get(id);
}

/** Parses a type name case-insensitively ("q4_k" -> "Q4_K"); undefined when unknown. */
export function parseGgmlType(text: string): GgmlTypeName | undefined {
  const upper = text.toUpperCase();
  return isGgmlTypeName(upper) ? upper : undefined;
}

/** Bytes of one row of `rowLength` elements, or undefined when the row does not split into blocks. */
export function rowBytes(type: GgmlTypeName, rowLength: number): number | undefined {
  const t = ggmlType(type);
  if (rowLength % t.blockSize !== 0) return undefined;
  return (rowLength / t.blockSize) * t.typeSize;
}

/**
 * Bytes of a tensor of this type. `shape` is in GGUF order (ne[0] = row length first).
 * Throws when the row length is not a multiple of the block size.
 */
export function tensorBytes(type: GgmlTypeName, shape: readonly number[]): number {
  const rowLength = shape[0] ?? 1;
  const bytes = rowBytes(type, rowLength);
  if (bytes === undefined) {
    throw new RangeError(`a row of ${rowLength} elements is not a multiple of ${type}'s block size ${ggmlType(type).blockSize}`);
  }
  return shape.slice(1).reduce((n, d) => n * d, bytes);
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

/** Bits per weight of a type (block bytes * 8 / block size). */
export function typeBits(type: GgmlTypeName): number {
  const t = ggmlType(type);
  return (t.typeSize * 8) / t.blockSize;
}

/** The float types: a tensor of one of these, or a file of such a file type, is not quantized. */
export const UNQUANTIZED_TYPES = ['F32', 'F16', 'BF16'] as const;
export type UnquantizedType = (typeof UNQUANTIZED_TYPES)[number];

/** True for F32, F16 and BF16, as ggml types and as llama.cpp file types alike. */
export function isUnquantizedType(type: string): type is UnquantizedType {
  return (UNQUANTIZED_TYPES as readonly string[]).includes(type);
}

/**
 * llama.cpp file types (general.file_type / the llama-quantize target argument) that Llama-Pajamas
 * plans for, with the ggml type each one uses for the bulk of the weights.
 */
export const LLAMA_FTYPES = {
  F32: { id: 0, defaultType: 'F32' },
  F16: { id: 1, defaultType: 'F16' },
  Q4_0: { id: 2, defaultType: 'Q4_0' },
  Q4_1: { id: 3, defaultType: 'Q4_1' },
  Q8_0: { id: 7, defaultType: 'Q8_0' },
  Q5_0: { id: 8, defaultType: 'Q5_0' },
  Q5_1: { id: 9, defaultType: 'Q5_1' },
  Q2_K: { id: 10, defaultType: 'Q2_K' },
  Q3_K_S: { id: 11, defaultType: 'Q3_K' },
  Q3_K_M: { id: 12, defaultType: 'Q3_K' },
  Q3_K_L: { id: 13, defaultType: 'Q3_K' },
  Q4_K_S: { id: 14, defaultType: 'Q4_K' },
  Q4_K_M: { id: 15, defaultType: 'Q4_K' },
  Q5_K_S: { id: 16, defaultType: 'Q5_K' },
  Q5_K_M: { id: 17, defaultType: 'Q5_K' },
  Q6_K: { id: 18, defaultType: 'Q6_K' },
  BF16: { id: 32, defaultType: 'BF16' },
  /** Routed experts (3-D tensors) MXFP4, every other quantizable tensor Q8_0. */
  MXFP4_MOE: { id: 38, defaultType: 'MXFP4' },
} as const satisfies Record<string, { id: number; defaultType: GgmlTypeName }>;

export type LlamaFtype = keyof typeof LLAMA_FTYPES;

export function isLlamaFtype(name: string): name is LlamaFtype {
  return Object.prototype.hasOwnProperty.call(LLAMA_FTYPES, name);
}

/** The ftype name for a general.file_type id, or undefined. */
export function ftypeNameById(id: number): LlamaFtype | undefined {
  const masked = id & ~1024; // LLAMA_FTYPE_GUESSED
  return (Object.keys(LLAMA_FTYPES) as LlamaFtype[]).find((k) => LLAMA_FTYPES[k].id === masked);
}
