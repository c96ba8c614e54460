import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { InternalError } from '../../../src/core/errors';
import { bufferedFileSink } from '../../../src/core/formats/byte-sink';
import { stagedFileSink } from '../../../src/core/formats/staged-file-sink';
import { TensorStream } from '../../../src/core/formats/tensor-stream';

function dir(t: TestContext): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'pajamas-out-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

function pattern(n: number, seed: number): Uint8Array {
  const a = new Uint8Array(n);
  for (let i = 0; i < n; i++) a[i] = (i * 31 + seed) & 0xff;
  return a;
}

const PIECE = 3_000_017;

for (const [label, sink] of [
  ['staged, buffered', stagedFileSink({ switchBytesPerSecond: 0 })],
  ['staged, switching to O_DIRECT after the first stage', stagedFileSink({ switchBytesPerSecond: Infinity })],
  ['buffered', bufferedFileSink],
] as const) {
  test(`TensorStream over the ${label} sink: header, tensors padded to the alignment, across many stages, odd tail`, async (t) => {
    const d = dir(t);
    const finalPath = path.join(d, 'out.gguf');
    const header = pattern(1000, 1);
    const sizes = [20_000_003, 5, 17_000_000, 4097];
    const tensors = sizes.map((byteLength, i) => ({ name: `t${i}`, byteLength }));
    const out = await TensorStream.open(finalPath, header, tensors, { alignment: 32, sink, sha256: true });
    const datas = sizes.map((n, i) => pattern(n, i + 7));
    for (const [i, data] of datas.entries()) {
      // Uneven pieces, as the data pass produces them; the staged sink takes every other piece
      // zero-copy, written straight into its stage buffer.
      for (let at = 0, k = 0; at < data.length; at += PIECE, k++) {
        const piece = data.subarray(at, Math.min(data.length, at + PIECE));
        if (k % 2 === 1 && piece.byteLength <= out.maxReserve) {
          const region = await out.reserve(`t${i}`, piece.byteLength);
          region.set(piece);
          await out.commit(`t${i}`, piece.byteLength);
        } else await out.writePart(`t${i}`, piece);
      }
    }
    const { bytes, sha256 } = await out.finish();
    const file = readFileSync(finalPath);
    assert.equal(file.length, bytes);
    assert.equal(sha256, createHash('sha256').update(file).digest('hex'), "the streamed hash is the file's hash");
    assert.deepEqual(file.subarray(0, 1000), Buffer.from(header));
    let at = 1024; // header padded to 32
    for (const data of datas) {
      assert.ok(file.subarray(at, at + data.length).equals(data), `tensor at ${at}`);
      const end = at + data.length;
      const padded = Math.ceil(end / 32) * 32;
      assert.ok(file.subarray(end, padded).every((b) => b === 0));
      at = padded;
    }
    assert.equal(at, file.length);
    assert.deepEqual(readdirSync(d), ['out.gguf']);
  });
}

test('the buffered sink has no buffers to lend: maxReserve is 0 and reserve is refused as a bug', async (t) => {
  const d = dir(t);
  const out = await TensorStream.open(path.join(d, 'out.gguf'), pattern(10, 0), [{ name: 'a', byteLength: 4 }], { alignment: 32 });
  assert.equal(out.maxReserve, 0);
  await assert.rejects(out.reserve('a', 4), (e: unknown) => e instanceof InternalError && /exceeds the sink's 0 bytes/.test(e.message));
  assert.deepEqual(readdirSync(d), []);
});

test('staged sink: a tensor out of order, too long, left unwritten or committed unreserved deletes the temporary file', async (t) => {
  const d = dir(t);
  const finalPath = path.join(d, 'out.gguf');
  const sink = stagedFileSink();
  const open = (tensors: { name: string; byteLength: number }[]) =>
    TensorStream.open(finalPath, pattern(10, 0), tensors, { alignment: 32, sink });
  const out = await open([
    { name: 'a', byteLength: 4 },
    { name: 'b', byteLength: 4 },
  ]);
  await assert.rejects(out.writePart('b', new Uint8Array(4)), /out of order/);
  assert.deepEqual(readdirSync(d), []);
  const again = await open([{ name: 'a', byteLength: 4 }]);
  await assert.rejects(again.writePart('a', new Uint8Array(5)), /more than its declared 4/);
  const third = await open([{ name: 'a', byteLength: 4 }]);
  await assert.rejects(third.finish(), /not written/);
  const fourth = await open([{ name: 'a', byteLength: 4 }]);
  await assert.rejects(fourth.commit('a', 4), (e: unknown) => e instanceof InternalError && /without a reserve\(\)/.test(e.message));
  assert.equal(existsSync(finalPath), false);
  assert.deepEqual(readdirSync(d), []);
});
