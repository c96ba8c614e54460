/** An ordered GGUF metadata map with typed setters, as the converter writes it. */
import { GgufValueType, type GgufKv } from '../formats/gguf';

export class KvBuilder {
  readonly entries = new Map<string, GgufKv>();

  constructor(readonly arch: string) {}

  /** `{arch}.suffix`, the per-architecture key llama.cpp reads. */
  key(suffix: string): string {
    return `${this.arch}.${suffix}`;
  }

  u32(key: string, value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`metadata ${key}: ${value} is not a u32`);
    this.entries.set(key, { type: GgufValueType.UINT32, value });
    return this;
  }

  i32(key: string, value: number): this {
    this.entries.set(key, { type: GgufValueType.INT32, value: Math.trunc(value) });
    return this;
  }

  f32(key: string, value: number): this {
    this.entries.set(key, { type: GgufValueType.FLOAT32, value });
    return this;
  }

  bool(key: string, value: boolean): this {
    this.entries.set(key, { type: GgufValueType.BOOL, value });
    return this;
  }

  str(key: string, value: string): this {
    this.entries.set(key, { type: GgufValueType.STRING, value });
    return this;
  }

  strings(key: string, value: readonly string[]): this {
    this.entries.set(key, { type: GgufValueType.ARRAY, itemType: GgufValueType.STRING, value: [...value] });
    return this;
  }

  floats(key: string, value: ArrayLike<number>): this {
    this.entries.set(key, { type: GgufValueType.ARRAY, itemType: GgufValueType.FLOAT32, value: Array.from(value) });
    return this;
  }

  ints(key: string, value: ArrayLike<number>): this {
    this.entries.set(key, { type: GgufValueType.ARRAY, itemType: GgufValueType.INT32, value: Array.from(value) });
    return this;
  }

  bools(key: string, value: readonly boolean[]): this {
    this.entries.set(key, { type: GgufValueType.ARRAY, itemType: GgufValueType.BOOL, value: [...value] });
    return this;
  }
}
