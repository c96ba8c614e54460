/**
 * The in-memory shape of a GGUF header, shared by the reader and the writer.
 * 64-bit integers (UINT64, INT64) are bigints, so values round-trip exactly; ggufNumber() converts
 * them where a number is wanted. Arrays are JS arrays; an element of an array of arrays is itself a
 * GgufArray, which carries its own item type (each inner array has one in the file).
 */
import type { GgufValueType } from './gguf-constants';
import type { GgmlTypeName } from './ggml-types';

export type GgufScalar = number | bigint | boolean | string;

export interface GgufScalarKv {
  readonly type: Exclude<GgufValueType, GgufValueType.ARRAY>;
  readonly value: GgufScalar;
}

export interface GgufArray {
  readonly type: GgufValueType.ARRAY;
  readonly itemType: GgufValueType;
  /** Scalars of itemType, or GgufArrays when itemType is ARRAY. */
  readonly value: ReadonlyArray<GgufScalar | GgufArray>;
}

export type GgufKv = GgufScalarKv | GgufArray;

export interface GgufTensorInfo {
  readonly name: string;
  /** GGUF order: ne[0] (the row length) first. */
  readonly shape: readonly number[];
  readonly type: GgmlTypeName;
  /** Offset of the tensor's data, relative to the data section. */
  readonly offset: number;
  readonly byteLength: number;
}

export interface GgufFile {
  readonly path: string;
  readonly version: number;
  /** In file order. */
  readonly metadata: ReadonlyMap<string, GgufKv>;
  /** In file order. */
  readonly tensors: readonly GgufTensorInfo[];
  readonly alignment: number;
  /** Absolute offset of the data section (tensor offsets are relative to it). */
  readonly dataOffset: number;
  readonly fileSize: number;
}
