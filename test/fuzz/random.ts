/** Seeded choices for the mutators (deterministic: one seed, one campaign). */
import { Rng } from '../fixtures/models/random';

export class FuzzRng {
  private readonly rng: Rng;

  constructor(seed: number) {
    this.rng = new Rng(seed);
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.rng.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  chance(p: number): boolean {
    return this.rng.next() < p;
  }
}

/** Numbers chosen to break assumptions: zero, negatives, huge, non-integers, non-finite. */
export const HOSTILE_NUMBERS: readonly number[] = [
  0,
  -1,
  -(2 ** 31),
  0.5,
  3,
  1e6,
  2 ** 31 - 1,
  2 ** 32,
  2 ** 53,
  1e18,
  1e308,
  NaN,
  Infinity,
  -Infinity,
];

/** Values of the wrong kind for a number field. */
export const HOSTILE_VALUES: readonly unknown[] = [
  ...HOSTILE_NUMBERS,
  null,
  true,
  '',
  '32',
  'x'.repeat(5000),
  [],
  [1, 2, 3],
  {},
  { a: { b: 1 } },
];

/** Byte-level damage shared by every format: flip bits, overwrite, truncate, insert, append. */
export function damageBytes(bytes: Buffer, rng: FuzzRng, focusEnd = bytes.length): { bytes: Buffer; what: string } {
  const b = Buffer.from(bytes);
  const at = rng.int(Math.max(1, Math.min(focusEnd, b.length)));
  switch (rng.int(6)) {
    case 0: {
      const flips = 1 + rng.int(8);
      for (let i = 0; i < flips; i++) {
        const p = rng.int(Math.max(1, Math.min(focusEnd, b.length)));
        b[p] = b[p]! ^ (1 << rng.int(8));
      }
      return { bytes: b, what: `${flips} bit flip(s) in the first ${focusEnd} bytes` };
    }
    case 1:
      b.fill(0xff, at, Math.min(b.length, at + 8));
      return { bytes: b, what: `8 bytes of 0xff at ${at}` };
    case 2:
      return { bytes: b.subarray(0, at), what: `truncated to ${at} bytes` };
    case 3:
      return {
        bytes: Buffer.concat([b.subarray(0, at), Buffer.alloc(1 + rng.int(64), rng.int(256)), b.subarray(at)]),
        what: `bytes inserted at ${at}`,
      };
    case 4:
      return {
        bytes: Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + rng.int(64)))]),
        what: `bytes deleted at ${at}`,
      };
    default:
      return { bytes: Buffer.concat([b, Buffer.alloc(1 + rng.int(4096), 0x41)]), what: 'garbage appended' };
  }
}
