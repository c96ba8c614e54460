import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { FormatError, UnsupportedError, UsageError } from '../../../src/core/errors';
import { f32ToBf16Array, f32ToF16Array } from '../../../src/core/formats/float';
import {
  SAFETENSORS_MAX_DIMS,
  SAFETENSORS_MAX_HEADER_BYTES,
  SAFETENSORS_MAX_NAME_BYTES,
  openSafetensorsModel,
  readSafetensorsHeader,
  readTensorBytes,
  readTensorFloat32,
} from '../../../src/core/formats/safetensors';
import { patternBytes, tempDir, tempFile } from '../../fixtures/bytes';
import { buildRawSafetensors, buildSafetensors, f32Data, headerFor, type FixtureSafetensor } from '../../fixtures/safetensors-builder';

const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

const sample: FixtureSafetensor[] = [
  { name: 'a.f32', dtype: 'F32', shape: [2, 3], data: f32Data([1, 2, 3, -4, 5.5, 6]) },
  { name: 'b.f16', dtype: 'F16', shape: [3], data: bytes(f32ToF16Array(new Float32Array([0.5, -1, 65504]))) },
  { name: 'c.bf16', dtype: 'BF16', shape: [2], data: bytes(f32ToBf16Array(new Float32Array([3, -0.25]))) },
  { name: 'd.f64', dtype: 'F64', shape: [1], data: bytes(new Float64Array([1 / 3])) },
  { name: 'e.i64', dtype: 'I64', shape: [1], data: patternBytes(8) },
  { name: 'f.bool', dtype: 'BOOL', shape: [2], data: Buffer.from([1, 0]) },
  { name: 'g.f4', dtype: 'F4', shape: [2, 2], data: Buffer.from([0x12, 0x34]) },
  { name: 'h.empty', dtype: 'F32', shape: [0, 4], data: Buffer.alloc(0) },
  { name: 'i.scalar', dtype: 'U8', shape: [], data: Buffer.from([7]) },
];

describe('readSafetensorsHeader', () => {
  it('reads names, dtypes, shapes, absolute offsets and metadata', async (t) => {
    const file = tempFile(t, 'model.safetensors', buildSafetensors(sample, { format: 'pt' }));
    const st = await readSafetensorsHeader(file);
    assert.deepEqual(st.metadata, { format: 'pt' });
    assert.equal(st.dataStart, 8 + st.headerLength);
    assert.deepEqual(
      st.tensors.map((x) => [x.name, x.dtype, x.shape, x.byteLength]),
      sample.map((x) => [x.name, x.dtype, x.shape, x.data.length]),
    );
    const b = st.tensors.find((x) => x.name === 'b.f16')!;
    assert.equal(b.dataOffset, st.dataStart + 24);
    assert.equal(b.file, file);
  });

  it('accepts tensors listed out of order, space padding and an empty file', async (t) => {
    const [x, y] = [sample[0]!, sample[1]!];
    const header = JSON.stringify({
      [y.name]: { dtype: 'F16', shape: [3], data_offsets: [24, 30] },
      [x.name]: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] },
    });
    const st = await readSafetensorsHeader(
      tempFile(t, 'a.safetensors', buildRawSafetensors({ header: header + '   ', data: Buffer.concat([x.data, y.data]) })),
    );
    assert.deepEqual(
      st.tensors.map((z) => z.name),
      ['a.f32', 'b.f16'],
      'sorted by data offset',
    );
    const empty = await readSafetensorsHeader(tempFile(t, 'e.safetensors', buildRawSafetensors({ header: '{}      ' })));
    assert.deepEqual(empty.tensors, []);
  });

  const tensor = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };
  const malformed: [string, Buffer, RegExp, (typeof FormatError | typeof UnsupportedError)?][] = [
    ['a file shorter than the length prefix', Buffer.from([1, 2, 3]), /too few for a safetensors header/],
    [
      'a header length over the limit',
      buildRawSafetensors({ header: '{}', headerLength: SAFETENSORS_MAX_HEADER_BYTES + 1 }),
      /exceeds the limit of 100000000 bytes \(SAFETENSORS_MAX_HEADER_BYTES\)/,
    ],
    ['a huge u64 header length', buildRawSafetensors({ header: '{}', headerLength: 2n ** 63n }), /exceeds the limit/],
    [
      'a header past the end of the file',
      buildRawSafetensors({ header: '{}', headerLength: 100 }),
      /runs past the end of the 10-byte file; the file is truncated/,
    ],
    ['a header not starting with {', buildRawSafetensors({ header: ' {}' }), /does not start with "\{"/],
    ['invalid JSON', buildRawSafetensors({ header: '{"a": ' }), /not valid JSON/],
    [
      'invalid UTF-8',
      Buffer.concat([
        buildRawSafetensors({ header: '{"\xff"}', headerLength: 5 }).subarray(0, 8),
        Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]),
      ]),
      /not valid UTF-8/,
    ],
    ['a JSON array', buildRawSafetensors({ header: '{}' }).fill(0x5b, 8, 9).fill(0x5d, 9, 10), /does not start with "\{"/],
    [
      'non-string metadata',
      buildRawSafetensors({ header: { __metadata__: { n: 1 } } }),
      /"__metadata__" value for "n" is a number, but metadata values must be strings/,
    ],
    [
      'an unknown dtype',
      buildRawSafetensors({ header: { w: { ...tensor, dtype: 'F12' } }, data: Buffer.alloc(8) }),
      /tensor "w": dtype "F12" is not supported \(supported: BOOL, F4/,
      UnsupportedError,
    ],
    [
      'a missing shape',
      buildRawSafetensors({ header: { w: { dtype: 'F32', data_offsets: [0, 8] } }, data: Buffer.alloc(8) }),
      /tensor "w": "shape" is missing, expected an array of sizes/,
    ],
    [
      'a negative dimension',
      buildRawSafetensors({ header: { w: { ...tensor, shape: [-2] } }, data: Buffer.alloc(8) }),
      /tensor "w": "shape" \[-2\] must hold non-negative integers/,
    ],
    [
      'a fractional dimension',
      buildRawSafetensors({ header: { w: { ...tensor, shape: [2.5] } }, data: Buffer.alloc(8) }),
      /must hold non-negative integers/,
    ],
    [
      'too many dimensions',
      buildRawSafetensors({ header: { w: { ...tensor, shape: new Array(SAFETENSORS_MAX_DIMS + 1).fill(1) } }, data: Buffer.alloc(4) }),
      /9 dimensions, more than the limit of 8 \(SAFETENSORS_MAX_DIMS\)/,
    ],
    [
      'a too long name',
      buildRawSafetensors({ header: { ['n'.repeat(SAFETENSORS_MAX_NAME_BYTES + 1)]: tensor }, data: Buffer.alloc(8) }),
      /more than the limit of 1024 \(SAFETENSORS_MAX_NAME_BYTES\)/,
    ],
    [
      'bad data_offsets',
      buildRawSafetensors({ header: { w: { ...tensor, data_offsets: [0] } }, data: Buffer.alloc(8) }),
      /tensor "w": "data_offsets" \[0\] must be \[begin, end\]/,
    ],
    [
      'data_offsets ending before they begin',
      buildRawSafetensors({ header: { w: { ...tensor, data_offsets: [8, 0] } }, data: Buffer.alloc(8) }),
      /end before they begin/,
    ],
    [
      'a span that does not match the shape',
      buildRawSafetensors({ header: { w: { ...tensor, data_offsets: [0, 12] } }, data: Buffer.alloc(12) }),
      /tensor "w", offset \d+: "data_offsets" \[0, 12\] span 12 bytes, but F32 \[2\] needs 8/,
    ],
    [
      'a packed tensor ending mid-byte',
      buildRawSafetensors({ header: { w: { dtype: 'F4', shape: [3], data_offsets: [0, 2] } }, data: Buffer.alloc(2) }),
      /no representable byte size/,
    ],
    [
      'overlapping tensors',
      buildRawSafetensors({ header: { a: tensor, b: { ...tensor, data_offsets: [4, 12] } }, data: Buffer.alloc(12) }),
      /tensor "b", offset \d+: bytes \[4, 12\) of the data section overlap tensor "a"/,
    ],
    [
      'a gap between tensors',
      buildRawSafetensors({ header: { a: tensor, b: { ...tensor, data_offsets: [12, 20] } }, data: Buffer.alloc(20) }),
      /tensor "b", offset \d+: 4 bytes of the data section before this tensor \(from 8\) belong to no tensor/,
    ],
    [
      'a gap at the start',
      buildRawSafetensors({ header: { a: { ...tensor, data_offsets: [4, 12] } }, data: Buffer.alloc(12) }),
      /tensor "a".*4 bytes .* belong to no tensor/,
    ],
    [
      'trailing bytes after the last tensor',
      buildRawSafetensors({ header: { a: tensor }, data: Buffer.alloc(9) }),
      /1 bytes after the last tensor belong to no tensor/,
    ],
    [
      'truncated data',
      buildRawSafetensors({ header: { a: tensor }, data: Buffer.alloc(5) }),
      /tensor "a".*tensors need 8 bytes of data but the file holds 5 after its header; the file is truncated/,
    ],
  ];
  for (const [name, file, message, errorClass] of malformed) {
    it(`rejects ${name}`, async (t) => {
      const p = tempFile(t, 'bad.safetensors', file);
      const error = await readSafetensorsHeader(p).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(error instanceof (errorClass ?? FormatError), `expected ${(errorClass ?? FormatError).name}, got ${String(error)}`);
      assert.match((error as Error).message, message);
      assert.ok((error as Error).message.includes(p), 'the message names the file');
    });
  }
});

describe('reading tensor data', () => {
  it('reads bytes, byte ranges and float32 from F32/F16/BF16/F64', async (t) => {
    const st = await readSafetensorsHeader(tempFile(t, 'm.safetensors', buildSafetensors(sample)));
    const by = new Map(st.tensors.map((x) => [x.name, x]));
    assert.deepEqual(await readTensorBytes(by.get('e.i64')!), patternBytes(8));
    assert.deepEqual(await readTensorBytes(by.get('e.i64')!, { start: 2, end: 5 }), Buffer.from([2, 3, 4]));
    await assert.rejects(readTensorBytes(by.get('e.i64')!, { start: 4, end: 9 }), RangeError);
    assert.deepEqual([...(await readTensorFloat32(by.get('a.f32')!))], [1, 2, 3, -4, 5.5, 6]);
    assert.deepEqual([...(await readTensorFloat32(by.get('b.f16')!))], [0.5, -1, 65504]);
    assert.deepEqual([...(await readTensorFloat32(by.get('c.bf16')!))], [3, -0.25]);
    assert.deepEqual([...(await readTensorFloat32(by.get('d.f64')!))], [Math.fround(1 / 3)]);
    assert.deepEqual([...(await readTensorFloat32(by.get('h.empty')!))], []);
    await assert.rejects(
      readTensorFloat32(by.get('e.i64')!),
      (e: unknown) => e instanceof UnsupportedError && /cannot read I64 as float32/.test(e.message),
    );
  });

  it('reports a file truncated after its header was read', async (t) => {
    const p = tempFile(t, 'm.safetensors', buildSafetensors(sample));
    const st = await readSafetensorsHeader(p);
    writeFileSync(p, buildSafetensors(sample).subarray(0, st.dataStart + 10));
    await assert.rejects(
      readTensorBytes(st.tensors.find((x) => x.name === 'b.f16')!),
      (e: unknown) => e instanceof FormatError && /truncated/.test(e.message),
    );
  });
});

describe('openSafetensorsModel', () => {
  const shardA: FixtureSafetensor[] = [sample[0]!, sample[1]!];
  const shardB: FixtureSafetensor[] = [sample[2]!];
  const writeSharded = (dir: string, weightMap: Record<string, string>, files: Record<string, FixtureSafetensor[]>) => {
    writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 42 }, weight_map: weightMap }));
    for (const [name, tensors] of Object.entries(files)) writeFileSync(path.join(dir, name), buildSafetensors(tensors));
  };
  const goodMap = { 'a.f32': 's-1.safetensors', 'b.f16': 's-1.safetensors', 'c.bf16': 's-2.safetensors' };

  it('opens a single-file model, or a single .safetensors file path', async (t) => {
    const dir = tempDir(t);
    writeFileSync(path.join(dir, 'model.safetensors'), buildSafetensors(sample));
    const m = await openSafetensorsModel(dir);
    assert.equal(m.files.length, 1);
    assert.deepEqual(
      [...m.tensors.keys()],
      sample.map((x) => x.name),
    );
    const direct = await openSafetensorsModel(path.join(dir, 'model.safetensors'));
    assert.equal(direct.tensors.size, sample.length);
  });

  it('opens a sharded model and cross-checks the index', async (t) => {
    const dir = tempDir(t);
    writeSharded(dir, goodMap, { 's-1.safetensors': shardA, 's-2.safetensors': shardB });
    const m = await openSafetensorsModel(dir);
    assert.deepEqual(
      m.files.map((f) => path.basename(f.path)),
      ['s-1.safetensors', 's-2.safetensors'],
    );
    assert.deepEqual([...m.tensors.keys()], ['a.f32', 'b.f16', 'c.bf16']);
    assert.equal(m.tensors.get('c.bf16')!.file, path.join(dir, 's-2.safetensors'));
    assert.deepEqual(m.indexMetadata, { total_size: 42 });
    assert.deepEqual([...(await readTensorFloat32(m.tensors.get('c.bf16')!))], [3, -0.25]);
  });

  const broken: [string, Record<string, string>, Record<string, FixtureSafetensor[]>, RegExp][] = [
    [
      'missing shards',
      { ...goodMap, x: 's-3.safetensors' },
      { 's-1.safetensors': shardA },
      /2 of 3 shards listed in the index are missing: s-2.safetensors, s-3.safetensors; the download is incomplete/,
    ],
    [
      'an index entry absent from its shard',
      { ...goodMap, ghost: 's-2.safetensors' },
      { 's-1.safetensors': shardA, 's-2.safetensors': shardB },
      /tensor "ghost": model.safetensors.index.json maps this tensor to shard s-2.safetensors, which does not contain it/,
    ],
    [
      'a shard tensor missing from the index',
      { 'a.f32': 's-1.safetensors', 'c.bf16': 's-2.safetensors' },
      { 's-1.safetensors': shardA, 's-2.safetensors': shardB },
      /tensor "b.f16": shard s-1.safetensors holds this tensor but model.safetensors.index.json does not list it/,
    ],
    [
      'a tensor listed under another shard',
      { ...goodMap, 'b.f16': 's-2.safetensors' },
      { 's-1.safetensors': shardA, 's-2.safetensors': shardB },
      /shard s-1.safetensors holds this tensor but .* maps it to shard s-2.safetensors/,
    ],
    [
      'a shard path escaping the folder',
      { 'a.f32': '../evil.safetensors' },
      {},
      /"weight_map" entry "..\/evil.safetensors" is not a shard file name inside the model folder/,
    ],
  ];
  for (const [name, weightMap, files, message] of broken) {
    it(`rejects ${name}`, async (t) => {
      const dir = tempDir(t);
      writeSharded(dir, weightMap, files);
      await assert.rejects(openSafetensorsModel(dir), (e: unknown) => e instanceof FormatError && message.test(e.message));
    });
  }

  it('rejects an index without weight_map and a folder without weights', async (t) => {
    const dir = tempDir(t);
    writeFileSync(path.join(dir, 'model.safetensors.index.json'), '{"metadata": {}}');
    await assert.rejects(openSafetensorsModel(dir), /has no "weight_map" object/);
    const empty = tempDir(t);
    await assert.rejects(
      openSafetensorsModel(empty),
      /found no .safetensors file; expected model.safetensors or model.safetensors.index.json/,
    );
    writeFileSync(path.join(empty, 'pytorch_model.bin'), 'x');
    await assert.rejects(openSafetensorsModel(empty), /PyTorch .bin\/.pt checkpoints are not read/);
    await assert.rejects(
      openSafetensorsModel(path.join(empty, 'nope')),
      (e: unknown) => e instanceof UsageError && /no such file or folder/.test(e.message),
    );
    writeFileSync(path.join(empty, 'x.safetensors'), buildSafetensors(shardB));
    writeFileSync(path.join(empty, 'y.safetensors'), buildSafetensors(shardB));
    await assert.rejects(openSafetensorsModel(empty), /2 .safetensors files \(x.safetensors, y.safetensors\) but no index/);
  });
});

describe('fixture sanity', () => {
  it('headerFor lays tensors out contiguously', () => {
    assert.deepEqual(headerFor(shardOf(2)), {
      t0: { dtype: 'U8', shape: [1], data_offsets: [0, 1] },
      t1: { dtype: 'U8', shape: [1], data_offsets: [1, 2] },
    });
  });
});

function shardOf(n: number): FixtureSafetensor[] {
  return Array.from({ length: n }, (_, i) => ({ name: `t${i}`, dtype: 'U8', shape: [1], data: Buffer.from([i]) }));
}
