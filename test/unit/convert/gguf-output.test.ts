import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { GgufOutput } from '../../../src/core/convert/gguf-output';

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

for (const [label, switchBytesPerSecond] of [
  ['buffered', 0],
  ['switching to O_DIRECT after the first stage', Infinity],
] as const) {
  test(`GgufOutput (${label}): header, tensors padded to the alignment, across many stages, odd tail`, async (t) => {
    const d = dir(t);
    const finalPath = path.join(d, 'out.gguf');
    const header = pattern(1000, 1);
    const sizes = [20_000_003, 5, 17_000_000, 4097];
    const tensors = sizes.map((byteLength, i) => ({ name: `t${i}`, byteLength }));
    const out = await GgufOutput.open(finalPath, header, tensors, 32, { switchBytesPerSecond });
    const datas = sizes.map((n, i) => pattern(n, i + 7));
    for (const [i, data] of datas.entries()) {
      // Uneven pieces, as the data pass produces them.
      for (let at = 0; at < data.length; at += 3_000_017)
        await out.writePart(`t${i}`, data.subarray(at, Math.min(data.length, at + 3_000_017)));
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

test('GgufOutput: a tensor out of order or too long deletes the temporary file', async (t) => {
  const d = dir(t);
  const finalPath = path.join(d, 'out.gguf');
  const out = await GgufOutput.open(
    finalPath,
    pattern(10, 0),
    [
      { name: 'a', byteLength: 4 },
      { name: 'b', byteLength: 4 },
    ],
    32,
  );
  await assert.rejects(out.writePart('b', new Uint8Array(4)), /out of order/);
  assert.deepEqual(readdirSync(d), []);
  const again = await GgufOutput.open(finalPath, pattern(10, 0), [{ name: 'a', byteLength: 4 }], 32);
  await assert.rejects(again.writePart('a', new Uint8Array(5)), /more than its 4 bytes/);
  const third = await GgufOutput.open(finalPath, pattern(10, 0), [{ name: 'a', byteLength: 4 }], 32);
  await assert.rejects(third.finish(), /not written/);
  assert.equal(existsSync(finalPath), false);
  assert.deepEqual(readdirSync(d), []);
});
