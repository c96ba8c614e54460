/**
 * bfloat16 -> float16 in WebAssembly SIMD, 8 elements per instruction: the data pass reads each
 * chunk straight into the module's memory and writes the converted chunk from it, so the hottest
 * loop of a bf16 -> f16 conversion costs a fraction of the scalar JavaScript one. Exactness: a
 * vector whose 8 exponents all lie in float16's normal range converts by rebiasing (exact, as in
 * kernels.ts); any other vector goes element by element through the exact rounding table kept at
 * the start of the memory. The module is assembled here (a few hundred bytes) rather than shipped
 * as a binary; where WebAssembly SIMD is missing, callers fall back to the JavaScript kernel.
 */
import { bf16BitsToF16Bits } from '../formats/float';

const TABLE_BYTES = 65536 * 2;
/** Source regions: one being converted, two being read ahead. */
export const SOURCE_REGIONS = 3;
const PAGE = 65536;

// WebAssembly encoding helpers (just what this module needs).
const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
};
const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return [...out, b];
    out.push(b | 0x80);
  }
};
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const name = (s: string): number[] => [...uleb(s.length), ...Buffer.from(s, 'utf8')];

const I32 = 0x7f;
const V128 = 0x7b;
const get = (i: number) => [0x20, i];
const set = (i: number) => [0x21, i];
const tee = (i: number) => [0x22, i];
const i32c = (n: number) => [0x41, ...sleb(n)];
const simd = (op: number, ...imm: number[]) => [0xfd, ...uleb(op), ...imm];
const splat16 = (n: number) => [...i32c(n), ...simd(0x10)];

// params: 0 src, 1 dst, 2 n (elements, a multiple of 8); locals: 3 end, 4 j, 5 v
const SRC = 0;
const DST = 1;
const N = 2;
const END = 3;
const J = 4;
const V = 5;

function functionBody(): number[] {
  const code = [
    ...get(SRC),
    ...get(N),
    ...i32c(1),
    0x74,
    0x6a,
    ...set(END), // end = src + 2n
    0x02,
    0x40, // block $done
    0x03,
    0x40, // loop $loop
    ...get(SRC),
    ...get(END),
    0x4f,
    0x0d,
    1, // if src >= end: br $done
    ...get(SRC),
    ...simd(0x00, 0, 0),
    ...set(V), // v = v128.load src
    // all lanes' exponents in 113..142?  ((v >> 7) & 0xff) - 113 <u 30
    ...get(V),
    ...i32c(7),
    ...simd(0x8d),
    ...splat16(0xff),
    ...simd(0x4e),
    ...splat16(113),
    ...simd(0x91),
    ...splat16(30),
    ...simd(0x30),
    ...simd(0x83),
    0x04,
    0x40, // if
    ...get(DST),
    ...get(V),
    ...splat16(0x7fff),
    ...simd(0x4e),
    ...splat16(0x3800),
    ...simd(0x91),
    ...i32c(3),
    ...simd(0x8b),
    ...get(V),
    ...splat16(0x8000),
    ...simd(0x4e),
    ...simd(0x50),
    ...simd(0x0b, 0, 0), // v128.store dst
    0x05, // else: dst[j] = table[src[j]] for j < 8
    ...i32c(0),
    ...set(J),
    0x03,
    0x40, // loop $scalar
    ...get(DST),
    ...get(J),
    ...i32c(1),
    0x74,
    0x6a,
    ...get(SRC),
    ...get(J),
    ...i32c(1),
    0x74,
    0x6a,
    0x2f,
    1,
    0, // i32.load16_u src+2j
    ...i32c(1),
    0x74,
    0x2f,
    1,
    0, // i32.load16_u table + 2x
    0x3b,
    1,
    0, // i32.store16
    ...get(J),
    ...i32c(1),
    0x6a,
    ...tee(J),
    ...i32c(8),
    0x49,
    0x0d,
    0, // j++ < 8: br $scalar
    0x0b, // end loop
    0x0b, // end if
    ...get(SRC),
    ...i32c(16),
    0x6a,
    ...set(SRC),
    ...get(DST),
    ...i32c(16),
    0x6a,
    ...set(DST),
    0x0c,
    0, // br $loop
    0x0b, // end loop
    0x0b, // end block
    0x0b, // end function
  ];
  const locals = vec([
    [2, I32],
    [1, V128],
  ]);
  const body = [...locals, ...code];
  return [...uleb(body.length), ...body];
}

function moduleBytes(): Uint8Array<ArrayBuffer> {
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec([[0x60, ...vec([[I32], [I32], [I32]]), 0x00]])),
    ...section(2, vec([[...name('env'), ...name('mem'), 0x02, 0x00, 0x01]])),
    ...section(3, vec([[0]])),
    ...section(7, vec([[...name('bf16_to_f16'), 0x00, 0]])),
    ...section(10, vec([functionBody()])),
  ]);
}

/** READ_DEPTH source and two output regions in WebAssembly memory, and the converter that works on them. */
export interface WasmArena {
  /** Bytes per region. */
  readonly regionBytes: number;
  readonly sources: readonly Uint8Array[];
  readonly outputs: readonly [Uint8Array, Uint8Array];
  /** Converts `elements` bf16 values when both views lie in the arena; false when they do not. */
  bf16ToF16(src: Uint8Array, dst: Uint8Array, elements: number): boolean;
}

let failed = false;

/** An arena with regions of `regionBytes` (a multiple of 16), or undefined without WebAssembly SIMD. */
export function createWasmArena(regionBytes: number): WasmArena | undefined {
  if (failed || typeof WebAssembly === 'undefined') return undefined;
  try {
    const pages = Math.ceil((TABLE_BYTES + (SOURCE_REGIONS + 2) * regionBytes) / PAGE);
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
    const instance = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes()), { env: { mem: memory } });
    const convert = instance.exports.bf16_to_f16 as (src: number, dst: number, n: number) => void;
    const table = new Uint16Array(memory.buffer, 0, 65536);
    for (let b = 0; b < 65536; b++) table[b] = bf16BitsToF16Bits(b);
    const region = (i: number) => new Uint8Array(memory.buffer, TABLE_BYTES + i * regionBytes, regionBytes);
    const inArena = (a: Uint8Array) => a.buffer === memory.buffer && a.byteOffset >= TABLE_BYTES;
    return {
      regionBytes,
      sources: [...Array(SOURCE_REGIONS).keys()].map(region),
      outputs: [region(SOURCE_REGIONS), region(SOURCE_REGIONS + 1)],
      bf16ToF16(src, dst, elements) {
        if (!inArena(src) || !inArena(dst)) return false;
        const vectorised = elements - (elements % 8);
        convert(src.byteOffset, dst.byteOffset, vectorised);
        for (let i = vectorised; i < elements; i++) {
          const x = src[2 * i]! | (src[2 * i + 1]! << 8);
          const y = table[x]!;
          dst[2 * i] = y & 0xff;
          dst[2 * i + 1] = y >>> 8;
        }
        return true;
      },
    };
  } catch {
    failed = true;
    return undefined;
  }
}
