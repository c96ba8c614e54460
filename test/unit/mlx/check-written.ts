/**
 * Checks of a written MLX folder shared by the writer tests: the raw headers (parsed here), the
 * tensor list against expectedMlx (derived from the note's rules), and every quantized weight
 * read back, dequantized and bounded per element.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { readTensorBytes } from '../../../src/core/formats/safetensors';
import { readFloatTensor } from '../../../src/core/mlx/dequantize';
import { openMlxModel, quantizedWeight, readDequantizedWeight } from '../../../src/core/mlx/reader';
import { bf16ToNumber, errorBound, roundToBf16, unpackStream } from './affine-helpers';
import { expectedMlx, type HfTensor } from './fixture-models';

export interface SourceModel {
  tensors: readonly HfTensor[];
  data: ReadonlyMap<string, Uint8Array>;
}

/** Raw header of a safetensors file, parsed by the test itself. */
export function rawHeader(file: string): {
  text: string;
  json: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
} {
  const buf = readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const text = buf.subarray(8, 8 + n).toString('utf8');
  return { text, json: JSON.parse(text) };
}

export const pajamasWidth = (body: number, g: number) => (module: string) => {
  if (/(block_sparse_moe\.gate|mlp\.gate)$/.test(module)) return { bits: 8, groupSize: g };
  if (/(embed_tokens|lm_head)$/.test(module)) return { bits: 6, groupSize: g };
  return { bits: body, groupSize: g };
};

/** Source values of a weight (stacked experts concatenated) as numbers. */
export function sourceValues(model: SourceModel, sources: string[]): number[] {
  const out: number[] = [];
  for (const s of sources) {
    const bytes = model.data.get(s)!;
    const t = model.tensors.find((x) => x.name === s)!;
    if (t.dtype === 'BF16') {
      const u16 = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
      for (const b of u16) out.push(bf16ToNumber(b));
    } else {
      const f32 = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
      // The writer casts to the config's bf16 first (as mlx_lm does); compare with that.
      for (const x of f32) out.push(roundToBf16(x));
    }
  }
  return out;
}

export async function checkWritten(
  model: SourceModel,
  outDir: string,
  width: (m: string) => { bits: number; groupSize: number } | null,
  dtype = 'BF16',
): Promise<void> {
  const expected = expectedMlx(model.tensors, dtype, width);
  const files = readdirSync(outDir)
    .filter((f) => f.endsWith('.safetensors'))
    .sort();
  const seen: { name: string; shape: number[]; dtype: string }[] = [];
  for (const f of files) {
    const { text, json } = rawHeader(path.join(outDir, f));
    assert.deepEqual(json.__metadata__, { format: 'mlx' }, `${f} metadata`);
    const keys = Object.keys(json);
    assert.deepEqual(keys, [...keys].sort(), `${f}: header keys sorted`);
    assert.ok(!/\s"/.test(text.trimEnd()), `${f}: compact JSON`);
    for (const [name, v] of Object.entries(json)) {
      if (name === '__metadata__') continue;
      const info = v as { dtype: string; shape: number[]; data_offsets: [number, number] };
      const item = { U32: 4, BF16: 2, F16: 2, F32: 4 }[info.dtype]!;
      assert.equal(
        info.data_offsets[1] - info.data_offsets[0],
        info.shape.reduce((a, b) => a * b, 1) * item,
        `${name}: end - start = numel * itemsize`,
      );
      seen.push({ name, shape: info.shape, dtype: info.dtype });
    }
  }
  seen.sort((a, b) => (a.name < b.name ? -1 : 1));
  assert.deepEqual(seen, expected.tensors, 'names, shapes and dtypes follow the note');

  const mlx = await openMlxModel(outDir);
  for (const w of expected.weights) {
    const q = quantizedWeight(mlx, w.module);
    if (w.bits === null) {
      assert.equal(q, null, `${w.module} unquantized`);
      continue;
    }
    assert.ok(q, `${w.module} quantized`);
    assert.deepEqual(q.quant, { bits: w.bits, groupSize: w.groupSize }, `${w.module} width from config`);
    const values = sourceValues(model, w.sources);
    const restored = await readDequantizedWeight(q);
    const words = new Uint32Array((await readTensorBytes(q.weight)).buffer.slice(0));
    const levels = unpackStream(words, w.bits, values.length);
    const scales = await readFloatTensor(q.scales);
    const biases = await readFloatTensor(q.biases);
    const n = 2 ** w.bits - 1;
    for (let i = 0; i < values.length; i++) {
      const g = Math.floor(i / w.groupSize);
      const err = Math.abs(values[i]! - restored[i]!);
      assert.ok(
        err <= errorBound(levels[i]!, n, scales[g]!, biases[g]!, values[i]!, dtype as 'BF16'),
        `${w.module}[${i}]: |w - w'| = ${err}, scale ${scales[g]}`,
      );
    }
  }
}
