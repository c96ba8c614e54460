import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FormatError, UnsupportedError } from '../../../src/core/errors';
import {
  GgufValueType,
  findGgufTensor,
  ggufArray,
  ggufBool,
  ggufNumber,
  ggufNumberArray,
  ggufString,
  ggufStringArray,
  ggufValue,
  readGgufHeader,
  readGgufTensorBytes,
} from '../../../src/core/formats/gguf';
import { ByteBuilder, patternBytes, tempFile } from '../../fixtures/bytes';
import { GGML, T, buildGguf, encodeKv, encodeTensorInfo, preamble, type FixtureKv, type GgufFixture } from '../../fixtures/gguf-builder';

const allScalars: FixtureKv[] = [
  { key: 'v.u8', type: T.u8, value: 255 },
  { key: 'v.i8', type: T.i8, value: -128 },
  { key: 'v.u16', type: T.u16, value: 65535 },
  { key: 'v.i16', type: T.i16, value: -32768 },
  { key: 'v.u32', type: T.u32, value: 4294967295 },
  { key: 'v.i32', type: T.i32, value: -2147483648 },
  { key: 'v.f32', type: T.f32, value: 0.1 },
  { key: 'v.bool', type: T.bool, value: true },
  { key: 'v.str', type: T.str, value: 'llama ü 🦙' },
  { key: 'v.empty', type: T.str, value: '' },
  { key: 'v.u64', type: T.u64, value: 2n ** 64n - 1n },
  { key: 'v.i64', type: T.i64, value: -(2n ** 63n) },
  { key: 'v.f64', type: T.f64, value: Math.PI },
];

const arrays: FixtureKv[] = [
  { key: 'a.u8', type: T.arr, value: { itemType: T.u8, items: [0, 1, 255] } },
  { key: 'a.i32', type: T.arr, value: { itemType: T.i32, items: [-1, 2, -3] } },
  { key: 'a.f32', type: T.arr, value: { itemType: T.f32, items: [0.5, -2] } },
  { key: 'a.bool', type: T.arr, value: { itemType: T.bool, items: [true, false] } },
  { key: 'a.str', type: T.arr, value: { itemType: T.str, items: ['<s>', '', 'ö'] } },
  { key: 'a.u64', type: T.arr, value: { itemType: T.u64, items: [1n, 2n ** 40n] } },
  { key: 'a.empty', type: T.arr, value: { itemType: T.f64, items: [] } },
  {
    key: 'a.nested',
    type: T.arr,
    value: {
      itemType: T.arr,
      items: [
        { itemType: T.str, items: ['x', 'y'] },
        { itemType: T.arr, items: [{ itemType: T.u8, items: [7] }] },
      ],
    },
  },
];

const tensors = [
  { name: 'token_embd.weight', dims: [64, 3], typeId: GGML.F32, data: patternBytes(64 * 3 * 4, 1) },
  { name: 'blk.0.attn_q.weight', dims: [64, 2], typeId: GGML.Q8_0, data: patternBytes(2 * 2 * 34, 2) },
  { name: 'blk.0.ffn_up.weight', dims: [256, 1], typeId: GGML.Q4_K, data: patternBytes(144, 3) },
  { name: 'output_norm.weight', dims: [5], typeId: GGML.F16, data: patternBytes(10, 4) },
];

async function read(t: import('node:test').TestContext, f: GgufFixture | Buffer) {
  return readGgufHeader(tempFile(t, 'm.gguf', Buffer.isBuffer(f) ? f : buildGguf(f)));
}

describe('readGgufHeader: valid files', () => {
  it('reads every scalar type', async (t) => {
    const file = await read(t, { kvs: allScalars });
    assert.equal(file.version, 3);
    assert.deepEqual(
      [...file.metadata.keys()],
      allScalars.map((k) => k.key),
    );
    const values = Object.fromEntries([...file.metadata].map(([k, v]) => [k, v.value]));
    assert.deepEqual(values, {
      'v.u8': 255,
      'v.i8': -128,
      'v.u16': 65535,
      'v.i16': -32768,
      'v.u32': 4294967295,
      'v.i32': -2147483648,
      'v.f32': Math.fround(0.1),
      'v.bool': true,
      'v.str': 'llama ü 🦙',
      'v.empty': '',
      'v.u64': 2n ** 64n - 1n,
      'v.i64': -(2n ** 63n),
      'v.f64': Math.PI,
    });
    assert.equal(ggufValue(file, 'v.u16')!.type, GgufValueType.UINT16);
    assert.equal(file.tensors.length, 0);
  });

  it('reads arrays of every kind, including nested arrays', async (t) => {
    const file = await read(t, { kvs: arrays });
    assert.deepEqual(ggufArray(file, 'a.u8'), [0, 1, 255]);
    assert.deepEqual(ggufNumberArray(file, 'a.i32'), [-1, 2, -3]);
    assert.deepEqual(ggufArray(file, 'a.bool'), [true, false]);
    assert.deepEqual(ggufStringArray(file, 'a.str'), ['<s>', '', 'ö']);
    assert.deepEqual(ggufArray(file, 'a.u64'), [1n, 2n ** 40n]);
    assert.deepEqual(ggufNumberArray(file, 'a.u64'), [1, 2 ** 40]);
    assert.deepEqual(ggufArray(file, 'a.empty'), []);
    const nested = ggufValue(file, 'a.nested')!;
    assert.deepEqual(nested, {
      type: GgufValueType.ARRAY,
      itemType: GgufValueType.ARRAY,
      value: [
        { type: GgufValueType.ARRAY, itemType: GgufValueType.STRING, value: ['x', 'y'] },
        {
          type: GgufValueType.ARRAY,
          itemType: GgufValueType.ARRAY,
          value: [{ type: GgufValueType.ARRAY, itemType: GgufValueType.UINT8, value: [7] }],
        },
      ],
    });
  });

  it('reads tensor infos of several types and their data', async (t) => {
    const file = await read(t, { kvs: [{ key: 'general.architecture', type: T.str, value: 'llama' }], tensors });
    assert.deepEqual(
      file.tensors.map((x) => [x.name, x.type, x.shape, x.byteLength, x.offset]),
      [
        ['token_embd.weight', 'F32', [64, 3], 768, 0],
        ['blk.0.attn_q.weight', 'Q8_0', [64, 2], 136, 768],
        ['blk.0.ffn_up.weight', 'Q4_K', [256, 1], 144, 928],
        ['output_norm.weight', 'F16', [5], 10, 1088],
      ],
    );
    assert.equal(file.alignment, 32);
    assert.equal(file.dataOffset % 32, 0);
    for (const x of tensors) assert.deepEqual(await readGgufTensorBytes(file, findGgufTensor(file, x.name)!), Buffer.from(x.data));
    assert.deepEqual(await readGgufTensorBytes(file, file.tensors[0]!, { start: 4, end: 8 }), Buffer.from([5, 6, 7, 8]));
  });

  for (const alignment of [1, 8, 64, 4096]) {
    it(`honours general.alignment = ${alignment}`, async (t) => {
      const file = await read(t, { alignment, kvs: [{ key: 'general.alignment', type: T.u32, value: alignment }], tensors });
      assert.equal(file.alignment, alignment);
      assert.equal(file.dataOffset % alignment, 0);
      for (const x of tensors) assert.deepEqual(await readGgufTensorBytes(file, findGgufTensor(file, x.name)!), Buffer.from(x.data));
    });
  }

  it('reads version 2 files', async (t) => {
    const file = await read(t, { version: 2, kvs: allScalars.slice(0, 3), tensors: tensors.slice(0, 1) });
    assert.equal(file.version, 2);
    assert.equal(file.tensors[0]!.name, 'token_embd.weight');
  });

  it('reads a header far larger than its read buffer (a big vocabulary, a long string)', async (t) => {
    const tokens = Array.from({ length: 200_000 }, (_, i) => `tok${i}${'x'.repeat(i % 17)}`);
    const scores = Array.from({ length: 200_000 }, (_, i) => i / 4);
    const long = 'ab'.repeat(1_500_000);
    const file = await read(t, {
      kvs: [
        { key: 'tokenizer.ggml.tokens', type: T.arr, value: { itemType: T.str, items: tokens } },
        { key: 'tokenizer.ggml.scores', type: T.arr, value: { itemType: T.f32, items: scores } },
        { key: 'tokenizer.chat_template', type: T.str, value: long },
      ],
      tensors: tensors.slice(0, 2),
    });
    assert.deepEqual(ggufStringArray(file, 'tokenizer.ggml.tokens'), tokens);
    assert.deepEqual(ggufNumberArray(file, 'tokenizer.ggml.scores'), scores);
    assert.equal(ggufString(file, 'tokenizer.chat_template'), long);
    assert.deepEqual(await readGgufTensorBytes(file, file.tensors[1]!), Buffer.from(tensors[1]!.data));
  });
});

describe('metadata getters', () => {
  it('return typed values, undefined when absent, and name the key on a type mismatch', async (t) => {
    const file = await read(t, { kvs: [...allScalars, ...arrays] });
    assert.equal(ggufString(file, 'v.str'), 'llama ü 🦙');
    assert.equal(ggufNumber(file, 'v.u32'), 4294967295);
    assert.equal(ggufNumber(file, 'v.f64'), Math.PI);
    assert.equal(ggufBool(file, 'v.bool'), true);
    assert.equal(ggufString(file, 'missing'), undefined);
    assert.equal(ggufNumber(file, 'missing'), undefined);
    assert.throws(
      () => ggufString(file, 'v.u32'),
      (e: unknown) => e instanceof FormatError && /metadata "v.u32" is u32, expected a string/.test(e.message),
    );
    assert.throws(() => ggufNumber(file, 'a.str'), /metadata "a.str" is an array of str, expected a number/);
    assert.throws(() => ggufNumber(file, 'v.u64'), /too large for a safe integer/);
    assert.throws(() => ggufBool(file, 'v.u8'), /expected a bool/);
    assert.throws(() => ggufStringArray(file, 'a.u8'), /expected an array of strings/);
    assert.throws(() => ggufNumberArray(file, 'a.str'), /expected an array of numbers/);
    assert.throws(() => ggufArray(file, 'v.str'), /expected an array/);
  });
});

/** Preamble + raw key-value bytes, for hostile metadata. */
function withRawKv(write: (b: ByteBuilder) => void, kvCount = 1, pad = 0): Buffer {
  const b = new ByteBuilder();
  preamble(b, { kvCount });
  write(b);
  return b.zeros(pad).build();
}

function withTensorInfo(write: (b: ByteBuilder) => void, kvs: FixtureKv[] = []): Buffer {
  const b = new ByteBuilder();
  preamble(b, { tensorCount: 1, kvs });
  for (const kv of kvs) encodeKv(b, kv);
  write(b);
  return b.padTo(32).zeros(4096).build();
}

type Case = [string, Buffer, RegExp, typeof FormatError | typeof UnsupportedError];
const hostile: Case[] = [
  ['a file too small for the preamble', Buffer.from('GGUF'), /file has 4 bytes, too few for a GGUF header/, FormatError],
  ['bad magic', buildGguf({ magic: 'GGML' }), /not a GGUF file: starts with "GGML", expected "GGUF"/, FormatError],
  ['version 0', buildGguf({ version: 0 }), /GGUF version 0 is invalid/, FormatError],
  ['version 1', buildGguf({ version: 1 }), /GGUF version 1 is not supported \(supported: 2, 3\); GGUF v1 is obsolete/, UnsupportedError],
  ['version 4', buildGguf({ version: 4 }), /GGUF version 4 is not supported .*newer llama.cpp/, UnsupportedError],
  ['a big-endian file', buildGguf({ version: 0x03000000 }), /big-endian GGUF file, which is not supported/, UnsupportedError],
  [
    'a huge tensor count',
    buildGguf({ tensorCount: 2n ** 62n }),
    /tensor count is 4611686018427387904, more than the limit of 1048576 \(GGUF_MAX_TENSOR_COUNT\)/,
    FormatError,
  ],
  [
    'a huge kv count',
    buildGguf({ kvCount: 2n ** 64n - 1n }),
    /metadata key-value count is 18446744073709551615, more than the limit of 1048576 \(GGUF_MAX_KV_COUNT\)/,
    FormatError,
  ],
  [
    'counts the file cannot hold',
    buildGguf({ kvCount: 1000, tensorCount: 1000 }),
    /header claims 1000 metadata entries and 1000 tensors, more than the 0 bytes left/,
    FormatError,
  ],
  [
    'a key length past the end of the file',
    withRawKv((b) => b.u64(1000).raw('general'), 1, 20),
    /metadata key #0 claims 1000 bytes but only 27 remain in the file/,
    FormatError,
  ],
  [
    'a key longer than the limit',
    withRawKv((b) => b.u64(70000).raw('k'), 1, 20),
    /length of metadata key #0 is 70000, more than the limit of 65535 \(GGUF_MAX_KEY_BYTES\)/,
    FormatError,
  ],
  [
    'a string value past the end of the file',
    withRawKv((b) => b.str('k').u32(T.str).u64(50).raw('abc')),
    /string value of metadata "k" claims 50 bytes but only 3 remain/,
    FormatError,
  ],
  [
    'a string value longer than the limit',
    withRawKv(
      (b) =>
        b
          .str('k')
          .u32(T.str)
          .u64(2n ** 40n),
      1,
      20,
    ),
    /length of string value of metadata "k" is 1099511627776, more than the limit .*GGUF_MAX_STRING_BYTES/,
    FormatError,
  ],
  ['an empty key', withRawKv((b) => b.str('').u32(T.u8).u8(1), 1, 20), /metadata key #0 is empty/, FormatError],
  [
    'a duplicate key',
    withRawKv((b) => b.str('k').u32(T.u8).u8(1).str('k').u32(T.u8).u8(2), 2, 20),
    /metadata key "k" appears twice/,
    FormatError,
  ],
  [
    'an unknown value type',
    withRawKv((b) => b.str('k').u32(13).u8(1), 1, 20),
    /type of metadata "k" is 13, not a GGUF value type/,
    FormatError,
  ],
  [
    'a huge array length',
    withRawKv(
      (b) =>
        b
          .str('k')
          .u32(T.arr)
          .u32(T.u8)
          .u64(2n ** 40n),
      1,
      20,
    ),
    /length of array metadata "k" is 1099511627776, more than the limit of 67108864 \(GGUF_MAX_ARRAY_LENGTH\)/,
    FormatError,
  ],
  [
    'an array longer than the file',
    withRawKv((b) => b.str('k').u32(T.arr).u32(T.str).u64(1000), 1, 40),
    /array metadata "k" claims 1000 str elements, more than the 40 bytes left/,
    FormatError,
  ],
  [
    'an unknown array item type',
    withRawKv((b) => b.str('k').u32(T.arr).u32(77).u64(1), 1, 20),
    /item type of metadata "k" is 77/,
    FormatError,
  ],
  [
    'arrays nested too deep',
    withRawKv(
      (b) => {
        b.str('k').u32(T.arr);
        for (let i = 0; i < 9; i++) b.u32(T.arr).u64(1);
        b.u32(T.u8).u64(0);
      },
      1,
      20,
    ),
    /nests arrays deeper than 8 \(GGUF_MAX_ARRAY_DEPTH\)/,
    FormatError,
  ],
  [
    'a file cut inside a value',
    buildGguf({ kvs: [{ key: 'k', type: T.u64, value: 1n }] }).subarray(0, 41),
    /offset 37: file ends inside value of metadata "k": needs 8 bytes, 4 left/,
    FormatError,
  ],
  [
    'general.alignment of the wrong type',
    buildGguf({ kvs: [{ key: 'general.alignment', type: T.u64, value: 32n }] }),
    /"general.alignment" must be a u32/,
    FormatError,
  ],
  [
    'general.alignment not a power of two',
    buildGguf({ kvs: [{ key: 'general.alignment', type: T.u32, value: 48 }] }),
    /"general.alignment" is 48, not a power of two/,
    FormatError,
  ],
  [
    'general.alignment 0',
    buildGguf({ kvs: [{ key: 'general.alignment', type: T.u32, value: 0 }] }),
    /"general.alignment" is 0, not a power of two/,
    FormatError,
  ],
  [
    'more than 4 dimensions',
    withTensorInfo((b) => encodeTensorInfo(b, { name: 'w', dims: [1, 1, 1, 1, 1], typeId: GGML.F32 }, 0)),
    /tensor "w", offset \d+: tensor has 5 dimensions, more than 4 \(GGUF_MAX_DIMS\)/,
    FormatError,
  ],
  ['a huge n_dims', withTensorInfo((b) => b.str('w').u32(0xffffffff)), /tensor has 4294967295 dimensions/, FormatError],
  [
    'an unknown tensor type',
    withTensorInfo((b) => encodeTensorInfo(b, { name: 'w', dims: [32], typeId: 99 }, 0)),
    /tensor "w".*unknown ggml type id 99 \(known: F32, F16/,
    FormatError,
  ],
  [
    "a tensor name over llama.cpp's limit",
    withTensorInfo((b) => encodeTensorInfo(b, { name: 'n'.repeat(64), dims: [1], typeId: GGML.F32 }, 0)),
    /length of name of tensor #0 is 64, more than the limit of 63 \(GGUF_MAX_TENSOR_NAME_BYTES\)/,
    FormatError,
  ],
  [
    'a row that is not whole blocks',
    withTensorInfo((b) => encodeTensorInfo(b, { name: 'w', dims: [33, 2], typeId: GGML.Q8_0 }, 0)),
    /tensor "w".*row length 33 is not a multiple of Q8_0's block size 32/,
    FormatError,
  ],
  [
    'a huge dimension',
    withTensorInfo((b) => encodeTensorInfo(b, { name: 'w', dims: [2n ** 60n], typeId: GGML.F32 }, 0)),
    /dimension 0 is 1152921504606846976, too large/,
    FormatError,
  ],
  [
    'a shape whose size overflows',
    withTensorInfo((b) => encodeTensorInfo(b, { name: 'w', dims: [2 ** 30, 2 ** 30], typeId: GGML.F32 }, 0)),
    /shape \[1073741824, 1073741824\] of F32 is too large/,
    FormatError,
  ],
  [
    'a misaligned tensor offset',
    buildGguf({ tensors: [{ name: 'w', dims: [4], typeId: GGML.F32, offset: 16, data: Buffer.alloc(16) }] }),
    /tensor "w", offset \d+: data offset 16 is not a multiple of the alignment 32/,
    FormatError,
  ],
  [
    'tensor data past the end of the file',
    buildGguf({ tensors: [{ name: 'w', dims: [64], typeId: GGML.F32, data: Buffer.alloc(256) }] }).subarray(0, 200),
    /tensor "w".*data \[0, 256\) of the data section runs past the end of the file .*truncated/,
    FormatError,
  ],
  [
    'overlapping tensors',
    buildGguf({
      tensors: [
        { name: 'a', dims: [16], typeId: GGML.F32, offset: 0, data: Buffer.alloc(64) },
        { name: 'b', dims: [16], typeId: GGML.F32, offset: 32, data: Buffer.alloc(64) },
      ],
    }),
    /tensor "b".*data at 32 overlaps tensor "a" \(\[0, 64\)\)/,
    FormatError,
  ],
  [
    'a duplicate tensor name',
    buildGguf({
      tensors: [
        { name: 'a', dims: [8], typeId: GGML.F32, data: Buffer.alloc(32) },
        { name: 'a', dims: [8], typeId: GGML.F32, data: Buffer.alloc(32) },
      ],
    }),
    /tensor "a".*tensor name appears twice/,
    FormatError,
  ],
  [
    'a file cut before its data section',
    (() => {
      const full = buildGguf({ tensors: [{ name: 'w', dims: [8], typeId: GGML.F32, data: Buffer.alloc(32) }] });
      return full.subarray(0, full.length - 32 - 1);
    })(),
    /data section would start at \d+, past the end of the \d+-byte file|runs past the end of the file/,
    FormatError,
  ],
];

describe('readGgufHeader: truncated and hostile files', () => {
  for (const [name, bytes, message, errorClass] of hostile) {
    it(`rejects ${name}`, async (t) => {
      const p = tempFile(t, 'bad.gguf', bytes);
      const error = await readGgufHeader(p).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(error instanceof errorClass, `expected ${errorClass.name}, got ${String(error)}`);
      assert.match((error as Error).message, message);
      assert.ok((error as Error).message.includes(p), 'the message names the file');
    });
  }
});
