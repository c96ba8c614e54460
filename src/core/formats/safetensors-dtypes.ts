/**
 * The safetensors element types (huggingface/safetensors `Dtype`), with their width in bits.
 * Sub-byte types (F4, F6_*) are packed; a tensor of them must fill whole bytes.
 */

export const SAFETENSORS_DTYPE_BITS = {
  BOOL: 8,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  C64: 64,
  F64: 64,
  I64: 64,
  U64: 64,
} as const;

export type SafetensorsDtype = keyof typeof SAFETENSORS_DTYPE_BITS;

export const SAFETENSORS_DTYPES = Object.keys(SAFETENSORS_DTYPE_BITS) as SafetensorsDtype[];

export function isSafetensorsDtype(name: string): name is SafetensorsDtype {
  return Object.prototype.hasOwnProperty.call(SAFETENSORS_DTYPE_BITS, name);
}

export function safetensorsDtypeBits(dtype: SafetensorsDtype): number {
  return SAFETENSORS_DTYPE_BITS[dtype];
}

/**
 * Bytes of a tensor of this dtype and shape, or undefined when it is not representable: the element
 * count or byte size passes Number.MAX_SAFE_INTEGER, or a packed sub-byte tensor ends mid-byte.
 */
export function safetensorsByteLength(dtype: SafetensorsDtype, shape: readonly number[]): number | undefined {
  let numel = 1;
  for (const d of shape) {
    numel *= d;
    if (!Number.isSafeInteger(numel)) return undefined;
  }
  const bits = numel * SAFETENSORS_DTYPE_BITS[dtype];
  if (!Number.isSafeInteger(bits) || bits % 8 !== 0) return undefined;
  return bits / 8;
}
