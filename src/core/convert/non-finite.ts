/**
 * NaN and infinite weights (a broken fine-tune, an overflow on the way to F16) convert silently
 * into a model that answers nonsense: the converter counts them in its output and warns. The
 * check runs on every chunk, so it is a branch-free pass that only says "some" (two 16-bit lanes
 * at a time: an all-ones exponent carries into the lane's top bit when one unit is added), and
 * counts exactly only in the rare chunk that has any.
 */
import type { GgmlTypeName } from '../formats/ggml-types';

/** Exponent mask and its lowest bit, per output type. */
const EXPONENT: Partial<Record<GgmlTypeName, { mask: number; one: number; bits: 16 | 32 }>> = {
  F16: { mask: 0x7c00, one: 0x0400, bits: 16 },
  BF16: { mask: 0x7f80, one: 0x0080, bits: 16 },
  F32: { mask: 0x7f800000, one: 0x00800000, bits: 32 },
};

/** How many elements of `bytes` (little-endian values of `type`) are NaN or infinite; 0 for other types. */
export function countNonFinite(bytes: Uint8Array, type: GgmlTypeName): number {
  const e = EXPONENT[type];
  if (!e || bytes.byteLength % 4 !== 0 || bytes.byteOffset % 4 !== 0) return e ? slowCount(bytes, e) : 0;
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const mask = e.bits === 16 ? (e.mask | (e.mask << 16)) >>> 0 : e.mask;
  const one = e.bits === 16 ? (e.one | (e.one << 16)) >>> 0 : e.one;
  const top = e.bits === 16 ? 0x80008000 : 0x80000000;
  let any = 0;
  for (let i = 0; i < words.length; i++) any |= ((words[i]! & mask) + one) & top;
  return any === 0 ? 0 : slowCount(bytes, e);
}

function slowCount(bytes: Uint8Array, e: { mask: number; bits: 16 | 32 }): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const step = e.bits / 8;
  let n = 0;
  for (let i = 0; i + step <= bytes.byteLength; i += step) {
    const v = e.bits === 16 ? view.getUint16(i, true) : view.getUint32(i, true);
    if ((v & e.mask) >>> 0 === e.mask) n++;
  }
  return n;
}
