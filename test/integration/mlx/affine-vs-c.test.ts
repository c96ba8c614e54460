/**
 * The TypeScript quantizer (float64 arithmetic rounded to float32, a reciprocal fast path with an
 * exact fallback near ties) against the plain C loop of bench/mlx/affine_ref.c, which computes in
 * native float32 with rintf: identical words, scales and biases for every bits/group combination
 * on weight-like data, constant groups, exact ties and outliers.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MLX_AFFINE_BITS, MLX_AFFINE_GROUP_SIZES, quantizeAffine } from '../../../src/core/mlx/affine';
import { projectRoot, requireCommand } from '../../helpers/env';
import { randomBf16, rng } from '../../unit/mlx/affine-helpers';

let work: string;
before(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'pajamas-affine-c-'));
});
after(() => rmSync(work, { recursive: true, force: true }));

/** Weight-like values, then groups of hard cases: constants, small-integer ties, lone outliers. */
function testInput(): Uint16Array {
  const groups = 3 * 128;
  const random = randomBf16(groups * 128, 42);
  const rand = rng(9);
  const out = new Uint16Array(random.length * 2);
  out.set(random);
  const bf16 = (x: number): number => {
    const f = new Float32Array([x]);
    const u = new Uint32Array(f.buffer)[0]!;
    return (u + 0x7fff + ((u >>> 16) & 1)) >>> 16;
  };
  for (let i = random.length; i < out.length; i++) {
    const j = i % 128;
    const kind = Math.floor(i / 128) % 4;
    if (kind === 0)
      out[i] = bf16(0.75); // constant group
    else if (kind === 1)
      out[i] = bf16((Math.floor(rand() * 31) - 15) / 2); // halves: exact ties
    else if (kind === 2)
      out[i] = bf16(j === 5 ? -40 : rand() * 0.01); // one negative outlier
    else out[i] = bf16(j % 2 ? 1e-30 : -1e-30); // tiny values: scale floors at eps
  }
  return out;
}

describe('MLX affine quantizer = the C reference, bit for bit', () => {
  it('every width and group size', (t) => {
    if (!requireCommand(t, 'gcc', 'apt install gcc')) return;
    const exe = path.join(work, 'affine_ref');
    const cc = spawnSync('gcc', ['-O2', '-o', exe, path.join(projectRoot, 'bench/mlx/affine_ref.c'), '-lm'], { encoding: 'utf8' });
    assert.equal(cc.status, 0, cc.stderr);
    const input = testInput();
    const inFile = path.join(work, 'in.bf16');
    writeFileSync(inFile, input);
    for (const bits of MLX_AFFINE_BITS) {
      for (const groupSize of MLX_AFFINE_GROUP_SIZES) {
        const outFile = path.join(work, `out-${bits}-${groupSize}.bin`);
        const r = spawnSync(exe, [inFile, String(bits), String(groupSize), outFile, '1'], { encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
        const q = quantizeAffine(input, 'BF16', { bits, groupSize });
        const ours = Buffer.concat([q.words, q.scales, q.biases].map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)));
        assert.ok(readFileSync(outFile).equals(ours), `${bits}-bit, group ${groupSize}: TypeScript and C differ`);
      }
    }
  });
});
