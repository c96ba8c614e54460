import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CancelledError, InternalError } from '../../../src/core/errors';
import { readSafetensorsHeader, readTensorBytes } from '../../../src/core/formats/safetensors';
import { SafetensorsWriter, encodeSafetensorsHeader, writeSafetensors } from '../../../src/core/formats/safetensors-writer';
import { patternBytes, tempDir } from '../../fixtures/bytes';

describe('encodeSafetensorsHeader', () => {
  it('writes compact JSON with sorted keys, padded with spaces to an 8-byte data start', () => {
    const { header, byteLengths } = encodeSafetensorsHeader(
      [
        { name: 'z', dtype: 'F32', shape: [2] },
        { name: 'a', dtype: 'U8', shape: [3] },
      ],
      { format: 'mlx', b: '2', a: '1' },
    );
    assert.deepEqual(byteLengths, [8, 3]);
    const length = Number(header.readBigUInt64LE(0));
    assert.equal(header.length, 8 + length);
    assert.equal((8 + length) % 8, 0);
    const text = header.subarray(8).toString('utf8');
    const json =
      '{"__metadata__":{"a":"1","b":"2","format":"mlx"},' +
      '"a":{"data_offsets":[8,11],"dtype":"U8","shape":[3]},"z":{"data_offsets":[0,8],"dtype":"F32","shape":[2]}}';
    assert.equal(text.trimEnd(), json);
    assert.match(text.slice(json.length), /^ *$/);
  });

  it('matches the reference encoding of an empty file', () => {
    // From the safetensors library's own tests: "{}" padded to 8 bytes.
    assert.deepEqual([...encodeSafetensorsHeader([]).header], [8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
    const withMeta = encodeSafetensorsHeader([], { framework: 'pt' }).header;
    assert.equal(withMeta.readBigUInt64LE(0), 40n);
    assert.equal(withMeta.subarray(8).toString(), '{"__metadata__":{"framework":"pt"}}     ');
  });

  const invalid: [string, Parameters<typeof encodeSafetensorsHeader>[0], RegExp][] = [
    [
      'a duplicate name',
      [
        { name: 'a', dtype: 'U8', shape: [1] },
        { name: 'a', dtype: 'U8', shape: [1] },
      ],
      /"a": declared twice/,
    ],
    ['an unknown dtype', [{ name: 'a', dtype: 'X9' as 'U8', shape: [1] }], /unknown dtype "X9"/],
    ['a negative dimension', [{ name: 'a', dtype: 'U8', shape: [-1] }], /must hold non-negative integers/],
    ['a reserved name', [{ name: '__metadata__', dtype: 'U8', shape: [1] }], /is reserved/],
    ['a packed type ending mid-byte', [{ name: 'a', dtype: 'F4', shape: [3] }], /no whole-byte size/],
  ];
  for (const [name, specs, message] of invalid) {
    it(`rejects ${name}`, () =>
      assert.throws(
        () => encodeSafetensorsHeader(specs),
        (e: unknown) => e instanceof InternalError && message.test(e.message),
      ));
  }
});

describe('SafetensorsWriter', () => {
  it('round-trips through the reader, data in declared order', async (t) => {
    const dir = tempDir(t);
    const file = path.join(dir, 'model.safetensors');
    const a = patternBytes(6 * 4, 1);
    const b = patternBytes(5, 100);
    const w = await SafetensorsWriter.create(
      file,
      [
        { name: 'model.b', dtype: 'F32', shape: [2, 3] },
        { name: 'model.a', dtype: 'U8', shape: [5] },
        { name: 'model.c', dtype: 'BF16', shape: [0] },
      ],
      { metadata: { format: 'mlx' } },
    );
    assert.equal(w.nextTensor, 'model.b');
    await w.writeTensor('model.b', [a.subarray(0, 10), a.subarray(10)]);
    await w.writeTensor('model.a', b);
    await w.writeTensor('model.c', new Uint8Array(0));
    assert.equal(w.nextTensor, undefined);
    const written = await w.finish();
    assert.equal(written.bytes, readFileSync(file).length);

    const st = await readSafetensorsHeader(file);
    assert.deepEqual(st.metadata, { format: 'mlx' });
    assert.equal(st.dataStart % 8, 0);
    assert.deepEqual(
      st.tensors.map((x) => x.name),
      ['model.b', 'model.a', 'model.c'],
      'data in declared order',
    );
    assert.deepEqual(await readTensorBytes(st.tensors[0]!), a);
    assert.deepEqual(await readTensorBytes(st.tensors[1]!), b);
    assert.deepEqual(readdirSync(dir), ['model.safetensors']);
  });

  it('accepts a tensor in parts', async (t) => {
    const file = path.join(tempDir(t), 'p.safetensors');
    const data = patternBytes(3 << 20);
    const w = await SafetensorsWriter.create(file, [
      { name: 'big', dtype: 'U8', shape: [data.length] },
      { name: 'small', dtype: 'U8', shape: [1] },
    ]);
    for (let i = 0; i < data.length; i += 1 << 20) await w.writeTensorPart('big', data.subarray(i, i + (1 << 20)));
    assert.equal(w.nextTensor, 'small');
    await w.writeTensorPart('small', Buffer.from([9]));
    await w.finish();
    const st = await readSafetensorsHeader(file);
    assert.ok((await readTensorBytes(st.tensors[0]!)).equals(data));
  });

  const misuse: [string, (w: SafetensorsWriter) => Promise<unknown>, RegExp][] = [
    ['a wrong size', (w) => w.writeTensor('a', new Uint8Array(3)), /tensor "a" got 3 bytes, but its declared shape and type take 4/],
    ['the wrong order', (w) => w.writeTensor('b', new Uint8Array(2)), /tensor "b" written out of order: "a" comes next/],
    ['an undeclared tensor', (w) => w.writeTensor('nope', new Uint8Array(2)), /tensor "nope" was not declared/],
    ['too many bytes in parts', (w) => w.writeTensorPart('a', new Uint8Array(5)), /got 5 bytes so far, more than its declared 4/],
    [
      'a missing tensor at finish',
      async (w) => {
        await w.writeTensor('a', new Uint8Array(4));
        await w.finish();
      },
      /1 declared tensor\(s\) not written, starting with "b"/,
    ],
  ];
  for (const [name, act, message] of misuse) {
    it(`fails on ${name} and leaves no file behind`, async (t) => {
      const dir = tempDir(t);
      const w = await SafetensorsWriter.create(path.join(dir, 'm.safetensors'), [
        { name: 'a', dtype: 'U8', shape: [4] },
        { name: 'b', dtype: 'U8', shape: [2] },
      ]);
      await assert.rejects(act(w), (e: unknown) => e instanceof InternalError && message.test(e.message));
      assert.deepEqual(readdirSync(dir), []);
      await assert.rejects(w.writeTensor('a', new Uint8Array(4)), /no longer usable/);
    });
  }

  it('abort removes the partial file; a cancelled signal stops the next write', async (t) => {
    const dir = tempDir(t);
    const w = await SafetensorsWriter.create(path.join(dir, 'm.safetensors'), [{ name: 'a', dtype: 'U8', shape: [1] }]);
    assert.equal(readdirSync(dir).length, 1);
    await w.abort();
    assert.deepEqual(readdirSync(dir), []);

    const controller = new AbortController();
    const w2 = await SafetensorsWriter.create(path.join(dir, 'n.safetensors'), [{ name: 'a', dtype: 'U8', shape: [1] }], {
      signal: controller.signal,
    });
    controller.abort();
    await assert.rejects(w2.writeTensor('a', new Uint8Array(1)), CancelledError);
    assert.deepEqual(readdirSync(dir), []);
  });

  it('writeSafetensors writes a whole file in one call', async (t) => {
    const file = path.join(tempDir(t), 'w.safetensors');
    await writeSafetensors(file, [{ name: 'x', dtype: 'I16', shape: [2], data: new Int16Array([-1, 2]) }]);
    const st = await readSafetensorsHeader(file);
    assert.deepEqual([...new Int16Array((await readTensorBytes(st.tensors[0]!)).buffer)], [-1, 2]);
  });
});
