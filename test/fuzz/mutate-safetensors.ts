/**
 * safetensors mutations: the header JSON changed field by field (dtypes, FP8 among them, shapes,
 * data offsets that overlap, repeat or run past the end, corrupted tensor names, a wrong length
 * prefix), non-finite weights, and byte-level damage.
 */
import { buildRawSafetensors } from '../fixtures/safetensors-builder';
import { type FuzzRng, HOSTILE_NUMBERS, damageBytes } from './random';

interface Entry {
  dtype: unknown;
  shape: unknown;
  data_offsets: unknown;
}

export interface SafetensorsSeed {
  header: Record<string, Entry | Record<string, string>>;
  data: Buffer;
  bytes: Buffer;
}

export function loadSafetensorsSeed(bytes: Buffer): SafetensorsSeed {
  const length = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + length).toString('utf8')) as SafetensorsSeed['header'];
  return { header, data: bytes.subarray(8 + length), bytes };
}

const DTYPES = ['F32', 'F16', 'BF16', 'F8_E4M3', 'F8_E5M2', 'I64', 'U8', 'BOOL', 'F4', 'F64', 'X', ''];

function tensorNames(seed: SafetensorsSeed): string[] {
  return Object.keys(seed.header).filter((k) => k !== '__metadata__');
}

/** One mutant of the seed. */
export function mutateSafetensors(seed: SafetensorsSeed, rng: FuzzRng): { bytes: Buffer; what: string } {
  const header = structuredClone(seed.header) as Record<string, Entry>;
  const names = tensorNames(seed);
  const name = rng.pick(names);
  const entry = header[name]!;
  const rebuild = (what: string, data = seed.data, headerLength?: number | bigint) => ({
    bytes: buildRawSafetensors({ header, data, headerLength }),
    what,
  });
  switch (rng.int(9)) {
    case 0:
      entry.dtype = rng.pick(DTYPES);
      return rebuild(`${name} dtype -> ${String(entry.dtype)}`);
    case 1: {
      const shape = [...(entry.shape as number[])];
      const d = rng.int(Math.max(1, shape.length));
      shape[d] = rng.pick([...HOSTILE_NUMBERS, (shape[d] ?? 1) * 2]);
      entry.shape = rng.chance(0.1) ? 'wide' : shape;
      return rebuild(`${name} shape -> ${JSON.stringify(entry.shape)}`);
    }
    case 2: {
      const other = header[rng.pick(names)]!;
      const [b, e] = entry.data_offsets as [number, number];
      entry.data_offsets = rng.pick([other.data_offsets, [b, e + 4], [b - 4, e], [e, b], [b, 2 ** 53], [-1, e], [b + 0.5, e], [b]]);
      return rebuild(`${name} data_offsets -> ${JSON.stringify(entry.data_offsets)}`);
    }
    case 3: {
      // A corrupted tensor name: one character changed, as a bit flip would.
      const i = rng.int(name.length);
      const renamed = name.slice(0, i) + String.fromCharCode((name.charCodeAt(i) ^ (1 << rng.int(6))) & 0x7f || 0x41) + name.slice(i + 1);
      delete header[name];
      header[renamed] = entry;
      return rebuild(`tensor ${name} renamed ${JSON.stringify(renamed)}`);
    }
    case 4:
      delete header[name];
      return rebuild(`tensor ${name} removed from the header`);
    case 5: {
      const prefix = rng.pick([0, 1, 2 ** 40, 2n ** 64n - 1n, 100_000_001]);
      return rebuild(`header length prefix -> ${prefix}`, seed.data, prefix);
    }
    case 6: {
      // Non-finite weights: a valid file whose numbers are not.
      const data = Buffer.from(seed.data);
      const [b, e] = entry.data_offsets as [number, number];
      const fill = entry.dtype === 'F32' ? Buffer.from(new Float32Array([NaN]).buffer) : Buffer.from([0x80, 0x7f]);
      for (let i = b; i + fill.length <= e; i += fill.length) fill.copy(data, i);
      return rebuild(`${name} filled with NaN/Inf`, data);
    }
    case 7:
      (header as Record<string, unknown>).__metadata__ = rng.pick([{ format: 'pt' }, { n: 1 }, 'x', null, []]);
      return rebuild('__metadata__ replaced');
    default: {
      const damaged = damageBytes(seed.bytes, rng, rng.chance(0.7) ? 8 + Number(seed.bytes.readBigUInt64LE(0)) : seed.bytes.length);
      return { bytes: damaged.bytes, what: `bytes: ${damaged.what}` };
    }
  }
}
