import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { InternalError } from '../../../src/core/errors';
import { GgufValueType, readGgufHeader, readGgufTensorBytes } from '../../../src/core/formats/gguf';
import { GgufWriter, ggufArrayValue, writeGguf } from '../../../src/core/formats/gguf-writer';
import { patternBytes, tempDir } from '../../fixtures/bytes';
import { GGML, T, buildGguf, type FixtureKv } from '../../fixtures/gguf-builder';

const V = GgufValueType;

function fillMetadata(w: GgufWriter): void {
  w.setString('general.architecture', 'llama')
    .setUint8('v.u8', 255)
    .setInt8('v.i8', -128)
    .setUint16('v.u16', 65535)
    .setInt16('v.i16', -32768)
    .setUint32('v.u32', 4294967295)
    .setInt32('v.i32', -2147483648)
    .setFloat32('v.f32', 0.25)
    .setBool('v.bool', false)
    .setUint64('v.u64', 2n ** 64n - 1n)
    .setInt64('v.i64', -5)
    .setFloat64('v.f64', Math.E)
    .setString('v.str', 'ü🦙')
    .setArray('a.str', V.STRING, ['<unk>', '', 'é'])
    .setArray('a.f32', V.FLOAT32, [0.5, -1.5])
    .setArray('a.i32', V.INT32, [1, -2])
    .setArray('a.bool', V.BOOL, [true])
    .setArray('a.u64', V.UINT64, [3n, 4])
    .setArray('a.nested', V.ARRAY, [ggufArrayValue(V.STRING, ['a', 'b']), ggufArrayValue(V.ARRAY, [ggufArrayValue(V.UINT8, [1, 2])])]);
}

/** The same metadata as fillMetadata, for the independent fixture builder. */
const fixtureKvs: FixtureKv[] = [
  { key: 'general.architecture', type: T.str, value: 'llama' },
  { key: 'v.u8', type: T.u8, value: 255 },
  { key: 'v.i8', type: T.i8, value: -128 },
  { key: 'v.u16', type: T.u16, value: 65535 },
  { key: 'v.i16', type: T.i16, value: -32768 },
  { key: 'v.u32', type: T.u32, value: 4294967295 },
  { key: 'v.i32', type: T.i32, value: -2147483648 },
  { key: 'v.f32', type: T.f32, value: 0.25 },
  { key: 'v.bool', type: T.bool, value: false },
  { key: 'v.u64', type: T.u64, value: 2n ** 64n - 1n },
  { key: 'v.i64', type: T.i64, value: -5n },
  { key: 'v.f64', type: T.f64, value: Math.E },
  { key: 'v.str', type: T.str, value: 'ü🦙' },
  { key: 'a.str', type: T.arr, value: { itemType: T.str, items: ['<unk>', '', 'é'] } },
  { key: 'a.f32', type: T.arr, value: { itemType: T.f32, items: [0.5, -1.5] } },
  { key: 'a.i32', type: T.arr, value: { itemType: T.i32, items: [1, -2] } },
  { key: 'a.bool', type: T.arr, value: { itemType: T.bool, items: [true] } },
  { key: 'a.u64', type: T.arr, value: { itemType: T.u64, items: [3n, 4n] } },
  {
    key: 'a.nested',
    type: T.arr,
    value: {
      itemType: T.arr,
      items: [
        { itemType: T.str, items: ['a', 'b'] },
        { itemType: T.arr, items: [{ itemType: T.u8, items: [1, 2] }] },
      ],
    },
  },
];

const tensors = [
  { name: 'token_embd.weight', shape: [32, 3], type: 'Q8_0' as const, typeId: GGML.Q8_0, data: patternBytes(3 * 34, 1) },
  { name: 'blk.0.attn_norm.weight', shape: [7], type: 'F32' as const, typeId: GGML.F32, data: patternBytes(28, 2) },
  { name: 'blk.0.ffn_down.weight', shape: [256, 2], type: 'Q6_K' as const, typeId: GGML.Q6_K, data: patternBytes(2 * 210, 3) },
  { name: 'output.weight', shape: [3, 2, 2, 1], type: 'BF16' as const, typeId: GGML.BF16, data: patternBytes(24, 4) },
];

async function writeAll(file: string, alignment?: number): Promise<void> {
  const w = new GgufWriter(file, { alignment });
  fillMetadata(w);
  for (const t of tensors) w.addTensor(t);
  await w.writeHeader();
  for (const t of tensors) await w.writeTensor(t.name, t.data);
  await w.finish();
}

describe('GgufWriter', () => {
  it('round-trips every value type, nested arrays and tensors of several types through the reader', async (t) => {
    const file = path.join(tempDir(t), 'm.gguf');
    await writeAll(file);
    const g = await readGgufHeader(file);
    assert.equal(g.version, 3);
    assert.equal(g.alignment, 32);
    assert.deepEqual(g.metadata.get('v.u64'), { type: V.UINT64, value: 2n ** 64n - 1n });
    assert.deepEqual(g.metadata.get('v.i64'), { type: V.INT64, value: -5n });
    assert.deepEqual(g.metadata.get('v.f64'), { type: V.FLOAT64, value: Math.E });
    assert.deepEqual(g.metadata.get('v.str'), { type: V.STRING, value: 'ü🦙' });
    assert.deepEqual(g.metadata.get('a.u64'), { type: V.ARRAY, itemType: V.UINT64, value: [3n, 4n] });
    assert.deepEqual(
      g.metadata.get('a.nested'),
      ggufArrayValue(V.ARRAY, [ggufArrayValue(V.STRING, ['a', 'b']), ggufArrayValue(V.ARRAY, [ggufArrayValue(V.UINT8, [1, 2])])]),
    );
    assert.deepEqual(
      [...g.metadata.keys()],
      fixtureKvs.map((k) => k.key),
      'insertion order kept',
    );
    assert.deepEqual(
      g.tensors.map((x) => [x.name, x.type, x.shape]),
      tensors.map((x) => [x.name, x.type, x.shape]),
    );
    for (const [i, x] of tensors.entries()) assert.deepEqual(await readGgufTensorBytes(g, g.tensors[i]!), x.data);
  });

  for (const alignment of [undefined, 1, 8, 64, 256]) {
    it(`writes the same bytes as the independent fixture builder (alignment ${alignment ?? 'default'})`, async (t) => {
      const file = path.join(tempDir(t), 'm.gguf');
      await writeAll(file, alignment);
      const kvs = alignment && alignment !== 32 ? [{ key: 'general.alignment', type: T.u32, value: alignment }, ...fixtureKvs] : fixtureKvs;
      const expected = buildGguf({
        alignment: alignment ?? 32,
        kvs,
        tensors: tensors.map((x) => ({ name: x.name, dims: x.shape, typeId: x.typeId, data: x.data })),
      });
      assert.ok(readFileSync(file).equals(expected), 'byte-identical');
    });
  }

  it('lays tensors out as llama.cpp requires: offsets are the running sum of padded sizes', () => {
    const w = new GgufWriter('/nonexistent/x.gguf', { alignment: 64 });
    for (const x of tensors) w.addTensor(x);
    assert.deepEqual(
      w.tensorInfos().map((x) => [x.offset, x.byteLength]),
      [
        [0, 102],
        [128, 28],
        [192, 420],
        [640, 24],
      ],
    );
  });

  it('streams tensors in parts and replaces a key set twice in place', async (t) => {
    const file = path.join(tempDir(t), 'p.gguf');
    const big = patternBytes(5 << 20);
    const w = new GgufWriter(file).setString('a', 'first').setUint32('b', 1).setString('a', 'second');
    w.addTensor({ name: 'big', shape: [big.length / 4], type: 'F32' }).addTensor({ name: 'tail', shape: [1], type: 'F32' });
    await w.writeHeader();
    for (let i = 0; i < big.length; i += 3 << 20) await w.writeTensorPart('big', big.subarray(i, i + (3 << 20)));
    assert.equal(w.nextTensor, 'tail');
    await w.writeTensor('tail', new Float32Array([7]));
    await w.finish();
    const g = await readGgufHeader(file);
    assert.deepEqual(
      [...g.metadata].map(([k, v]) => [k, v.value]),
      [
        ['a', 'second'],
        ['b', 1],
      ],
    );
    assert.ok((await readGgufTensorBytes(g, g.tensors[0]!)).equals(big));
    assert.deepEqual([...new Float32Array((await readGgufTensorBytes(g, g.tensors[1]!)).buffer)], [7]);
  });

  it('writeGguf writes metadata copied from another file', async (t) => {
    const dir = tempDir(t);
    await writeAll(path.join(dir, 'a.gguf'));
    const src = await readGgufHeader(path.join(dir, 'a.gguf'));
    await writeGguf(path.join(dir, 'b.gguf'), { metadata: src.metadata });
    const copy = await readGgufHeader(path.join(dir, 'b.gguf'));
    assert.deepEqual(copy.metadata, src.metadata);
    assert.equal(copy.tensors.length, 0);
  });

  const badValues: [string, (w: GgufWriter) => unknown, RegExp][] = [
    ['u8 out of range', (w) => w.setUint8('k', 256), /"k": 256 is not a u8/],
    ['i8 out of range', (w) => w.setInt8('k', -129), /-129 is not a i8/],
    ['negative u32', (w) => w.setUint32('k', -1), /-1 is not a u32/],
    ['fractional i32', (w) => w.setInt32('k', 1.5), /1.5 is not a i32/],
    ['negative u64', (w) => w.setUint64('k', -1n), /-1 is not a u64/],
    ['i64 overflow', (w) => w.setInt64('k', 2n ** 63n), /is not a i64/],
    ['an unsafe integer as u64 number', (w) => w.setUint64('k', 2 ** 60), /is not a u64/],
    ['a string for a number', (w) => w.set('k', { type: V.FLOAT32, value: 'x' }), /x is not a number/],
    ['a bad array element', (w) => w.setArray('k', V.UINT16, [1, 70000]), /"k": element 1: 70000 is not a u16/],
    ['a nested element that is not an array', (w) => w.setArray('k', V.ARRAY, ['x']), /element 0 is not a GgufArray/],
    ['an empty key', (w) => w.setString('', 'x'), /must not be empty/],
    [
      'an alignment that is not a power of two',
      (w) => w.setUint32('general.alignment', 48),
      /"general.alignment" must be a u32 power of two/,
    ],
    ['an alignment of the wrong type', (w) => w.setUint64('general.alignment', 32), /must be a u32 power of two/],
  ];
  for (const [name, act, message] of badValues) {
    it(`rejects ${name}`, () =>
      assert.throws(
        () => act(new GgufWriter('/nonexistent/x.gguf')),
        (e: unknown) => e instanceof InternalError && message.test(e.message),
      ));
  }

  const badTensors: [string, Parameters<GgufWriter['addTensor']>[0], RegExp][] = [
    ['a name over 63 bytes', { name: 'n'.repeat(64), shape: [1], type: 'F32' }, /name longer than 63 bytes/],
    ['5 dimensions', { name: 'w', shape: [1, 1, 1, 1, 1], type: 'F32' }, /5 dimensions; GGUF takes 1 to 4/],
    ['no dimensions', { name: 'w', shape: [], type: 'F32' }, /0 dimensions/],
    ['a row that is not whole blocks', { name: 'w', shape: [33], type: 'Q4_0' }, /row length 33 is not a multiple of Q4_0's block size 32/],
    ['an unknown type', { name: 'w', shape: [1], type: 'Q3_X' as 'F32' }, /unknown ggml type "Q3_X"/],
    ['a negative dimension', { name: 'w', shape: [-1], type: 'F32' }, /must hold non-negative integers/],
  ];
  for (const [name, spec, message] of badTensors) {
    it(`rejects a tensor with ${name}`, () =>
      assert.throws(
        () => new GgufWriter('/nonexistent/x.gguf').addTensor(spec),
        (e: unknown) => e instanceof InternalError && message.test(e.message),
      ));
  }

  it('rejects a tensor declared twice, declarations after the header and data before it', async (t) => {
    const dir = tempDir(t);
    const w = new GgufWriter(path.join(dir, 'x.gguf')).addTensor({ name: 'w', shape: [1], type: 'F32' });
    assert.throws(() => w.addTensor({ name: 'w', shape: [1], type: 'F32' }), /"w": declared twice/);
    assert.equal(w.nextTensor, 'w');
    await assert.rejects(
      w.writeTensor('w', new Uint8Array(4)),
      (e: unknown) => e instanceof InternalError && /writeHeader\(\) must come before tensor data/.test(e.message),
    );
    await w.writeHeader();
    assert.throws(() => w.setString('late', 'x'), /cannot set metadata "late" after the header is written/);
    assert.throws(() => w.addTensor({ name: 'v', shape: [1], type: 'F32' }), /cannot add tensor "v" after the header is written/);
    await w.abort();
    assert.deepEqual(readdirSync(dir), []);
  });

  const misuse: [string, (w: GgufWriter) => Promise<unknown>, RegExp][] = [
    [
      'a buffer of the wrong size',
      (w) => w.writeTensor('a', new Uint8Array(8)),
      /tensor "a" got 8 bytes, but its declared shape and type take 34/,
    ],
    ['tensors out of order', (w) => w.writeTensor('b', new Uint8Array(4)), /tensor "b" written out of order: "a" comes next/],
    [
      'a tensor left unwritten',
      async (w) => {
        await w.writeTensor('a', new Uint8Array(34));
        await w.finish();
      },
      /1 declared tensor\(s\) not written, starting with "b"/,
    ],
  ];
  for (const [name, act, message] of misuse) {
    it(`fails on ${name} and removes the partial file`, async (t) => {
      const dir = tempDir(t);
      const w = new GgufWriter(path.join(dir, 'x.gguf'))
        .addTensor({ name: 'a', shape: [32], type: 'Q8_0' })
        .addTensor({ name: 'b', shape: [1], type: 'F32' });
      await w.writeHeader();
      assert.equal(readdirSync(dir).length, 1, 'a temporary file exists while writing');
      assert.ok(!readdirSync(dir).includes('x.gguf'));
      // A misused writer is a bug in its caller, and the message says so rather than blaming the input.
      await assert.rejects(
        act(w),
        (e: unknown) => e instanceof InternalError && message.test(e.message) && /this is a bug/.test(e.message),
      );
      assert.deepEqual(readdirSync(dir), []);
    });
  }
});
