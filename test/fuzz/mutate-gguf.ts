/**
 * GGUF mutations, structure-aware: the seed is read into the byte-builder's fixture form
 * (../fixtures/gguf-builder), one field is changed the way corruption or an attacker would change
 * it (hostile metadata values and types, tensor dimensions, types, offsets and names, counts,
 * alignment, duplicate tokens, NaN-filled data), and the file is written again; or the bytes are
 * damaged directly (bit flips in the header, truncation, inserted bytes, trailing garbage).
 */
import { readGgufHeader, readGgufTensorBytes } from '../../src/core/formats/gguf';
import type { GgufArray, GgufFile } from '../../src/core/formats/gguf';
import { ggmlType } from '../../src/core/formats/ggml-types';
import { buildGguf, type FixtureArray, type FixtureKv, type FixtureTensor, type GgufFixture, T } from '../fixtures/gguf-builder';
import { type FuzzRng, HOSTILE_NUMBERS, damageBytes } from './random';

export interface GgufSeed {
  fixture: GgufFixture;
  bytes: Buffer;
  /** Bytes before the data section: where header damage is aimed. */
  headerBytes: number;
}

export async function loadGgufSeed(path: string): Promise<GgufSeed> {
  const file = await readGgufHeader(path);
  const tensors: FixtureTensor[] = [];
  for (const t of file.tensors) {
    tensors.push({ name: t.name, dims: [...t.shape], typeId: ggmlType(t.type).id, data: await readGgufTensorBytes(file, t) });
  }
  const fixture: GgufFixture = { kvs: kvsOf(file), tensors, alignment: file.alignment };
  return { fixture, bytes: buildGguf(fixture), headerBytes: file.dataOffset };
}

function kvsOf(file: GgufFile): FixtureKv[] {
  return [...file.metadata].map(([key, kv]) => ({ key, type: kv.type, value: kv.type === T.arr ? arrayOf(kv as GgufArray) : kv.value }));
}

function arrayOf(a: GgufArray): FixtureArray {
  return { itemType: a.itemType, items: a.value.map((v) => (typeof v === 'object' ? arrayOf(v) : v)) };
}

/** A hostile value of some type for a metadata entry (the type may change too). */
function hostileKv(kv: FixtureKv, rng: FuzzRng): FixtureKv {
  const n = rng.pick(HOSTILE_NUMBERS);
  switch (rng.int(5)) {
    case 0:
      return { ...kv, type: T.f32, value: n };
    case 1:
      return { ...kv, type: T.u32, value: Number.isFinite(n) ? Math.abs(Math.trunc(n)) % 2 ** 32 : 0 };
    case 2:
      return { ...kv, type: T.i32, value: Number.isFinite(n) ? Math.trunc(n) | 0 : -1 };
    case 3:
      return { ...kv, type: T.u64, value: rng.pick([0n, 2n ** 63n, 2n ** 64n - 1n, 1000000n]) };
    default:
      return { ...kv, type: T.str, value: rng.pick(['', 'x'.repeat(300), 'llama', 'yarn', '\u0000']) };
  }
}

type Op = (f: GgufFixture, rng: FuzzRng) => string;

const OPS: Op[] = [
  // A hyperparameter (or any entry) gets a hostile value or type.
  (f, rng) => {
    const archKeys = f.kvs!.filter((kv) => /^(llama|qwen3moe)\./.test(kv.key));
    const i = f.kvs!.indexOf(rng.chance(0.8) && archKeys.length ? rng.pick(archKeys) : rng.pick(f.kvs!));
    f.kvs![i] = hostileKv(f.kvs![i]!, rng);
    return `metadata ${f.kvs![i]!.key} = ${String(f.kvs![i]!.value).slice(0, 20)} (type ${f.kvs![i]!.type})`;
  },
  // An entry removed or repeated.
  (f, rng) => {
    const i = rng.int(f.kvs!.length);
    if (rng.chance(0.5)) return `metadata ${f.kvs!.splice(i, 1)[0]!.key} removed`;
    f.kvs!.push({ ...f.kvs![i]! });
    return `metadata ${f.kvs![i]!.key} repeated`;
  },
  // Tensor dimensions.
  (f, rng) => {
    const t = rng.pick(f.tensors!);
    const d = rng.int(t.dims.length);
    t.dims[d] = rng.pick([0, 1, 2 * Number(t.dims[d]), Number(t.dims[d]) + 1, 2 ** 40, 2n ** 64n - 1n]);
    if (rng.chance(0.2)) t.dims.push(rng.pick([1, 2, 7]));
    return `tensor ${t.name} dims -> [${t.dims.join(', ')}]`;
  },
  // Tensor type: another real type, or an unknown id.
  (f, rng) => {
    const t = rng.pick(f.tensors!);
    t.typeId = rng.pick([0, 1, 2, 8, 12, 14, 30, 39, 4, 255, 2 ** 31]);
    return `tensor ${t.name} type id -> ${t.typeId}`;
  },
  // Tensor offsets: overlapping, duplicate, unaligned, out of order (huge ones come from byte damage).
  (f, rng) => {
    const i = 1 + rng.int(f.tensors!.length - 1);
    const t = f.tensors![i]!;
    t.offset = rng.pick([0, 1, 31, 32, 4096, 1 << 20]);
    return `tensor ${t.name} offset -> ${t.offset}`;
  },
  // Tensor names: a duplicate, a bit flip, too long, empty.
  (f, rng) => {
    const t = rng.pick(f.tensors!);
    const before = t.name;
    t.name = rng.pick([f.tensors![0]!.name, flipChar(t.name, rng), 'x'.repeat(80), '']);
    return `tensor ${before} renamed ${JSON.stringify(t.name.slice(0, 40))}`;
  },
  // Counts in the preamble.
  (f, rng) => {
    const which = rng.chance(0.5) ? 'tensorCount' : 'kvCount';
    const real = which === 'tensorCount' ? f.tensors!.length : f.kvs!.length;
    f[which] = rng.pick([real - 1, real + 1, 0, 2n ** 63n, 2n ** 64n - 1n, 1 << 30]);
    return `${which} -> ${f[which]}`;
  },
  // general.alignment.
  (f, rng) => {
    const value = rng.pick([1, 0, 3, 8, 64, 2 ** 30]);
    f.kvs!.push({ key: 'general.alignment', type: T.u32, value });
    if (rng.chance(0.5) && value > 0 && (value & (value - 1)) === 0 && value <= 4096) f.alignment = value;
    return `general.alignment ${value}${f.alignment === value ? ' (data laid out for it)' : ''}`;
  },
  // The vocabulary: a duplicate token, a short score list, a special id past the end.
  (f, rng) => {
    const tokens = f.kvs!.find((kv) => kv.key === 'tokenizer.ggml.tokens')!.value as FixtureArray;
    const scores = f.kvs!.find((kv) => kv.key === 'tokenizer.ggml.scores')?.value as FixtureArray | undefined;
    switch (rng.int(3)) {
      case 0:
        tokens.items[5] = tokens.items[6];
        return 'a duplicate token';
      case 1:
        if (scores) scores.items.length = Math.floor(scores.items.length / 2);
        return 'half the scores';
      default:
        f.kvs!.push({ key: 'tokenizer.ggml.bos_token_id', type: T.u32, value: tokens.items.length + 5 });
        return 'bos id past the vocabulary';
    }
  },
  // Non-finite weights: the file stays valid, the numbers do not.
  (f, rng) => {
    const t = rng.pick(f.tensors!.filter((x) => x.typeId === 0));
    const nan = Buffer.alloc(4);
    nan.writeFloatLE(rng.pick([NaN, Infinity, -Infinity]));
    const data = Buffer.from(t.data!);
    for (let i = 0; i + 4 <= data.length; i += 4) nan.copy(data, i);
    t.data = data;
    return `tensor ${t.name} filled with ${nan.readFloatLE()}`;
  },
];

function flipChar(s: string, rng: FuzzRng): string {
  const i = rng.int(s.length);
  return s.slice(0, i) + String.fromCharCode(s.charCodeAt(i) ^ (1 << rng.int(7))) + s.slice(i + 1);
}

/** One mutant of the seed. */
export function mutateGguf(seed: GgufSeed, rng: FuzzRng): { bytes: Buffer; what: string } {
  if (rng.chance(0.3)) {
    const damaged = damageBytes(seed.bytes, rng, rng.chance(0.8) ? seed.headerBytes : seed.bytes.length);
    return { bytes: damaged.bytes, what: `bytes: ${damaged.what}` };
  }
  const fixture = structuredClone(seed.fixture);
  const what = rng.pick(OPS)(fixture, rng);
  return { bytes: buildGguf(fixture), what };
}
