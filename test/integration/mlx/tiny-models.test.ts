/**
 * MLX output of the shared tiny models (dense GQA Llama, Mixtral-style MoE), verified without MLX:
 * tensor names/shapes/dtypes against the list the test derives from the note's rules and the HF
 * header; every weight read back and bounded; then end to end: dequantize to an F16 HF folder,
 * convert to GGUF and run llama-perplexity. A wrong name, layout or packing blows perplexity up; a
 * right 4-bit artifact (pajamas: 6-bit embeddings/lm_head, 8-bit routers) stays within 5% of F16.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { convertToGguf } from '../../../src/core/convert';
import { runLlamaTool } from '../../../src/core/llamacpp';
import { dequantizeMlxModel } from '../../../src/core/mlx/dequantize';
import { pajamasMlxPolicy } from '../../../src/core/mlx/policy';
import { writeMlxModel } from '../../../src/core/mlx/writer';
import { sharedAsset } from '../../helpers/env';
import { llamaToolsOrSkip } from '../../helpers/llama-tools';
import { checkWritten, pajamasWidth, type SourceModel } from '../../unit/mlx/check-written';
import type { HfTensor } from '../../unit/mlx/fixture-models';

/** Allowed perplexity rise of the MLX 4-bit artifact over F16 (the bar). */
const MAX_PPL_RISE = 0.05;

let work: string;
before(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'pajamas-mlx-tiny-'));
});
after(() => rmSync(work, { recursive: true, force: true }));

/** The HF tensors and their bytes, read with the test's own header parser. */
function readHfModel(dir: string): SourceModel {
  const buf = readFileSync(path.join(dir, 'model.safetensors'));
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<
    string,
    { dtype: HfTensor['dtype']; shape: number[]; data_offsets: [number, number] }
  >;
  const tensors: HfTensor[] = [];
  const data = new Map<string, Uint8Array>();
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    tensors.push({ name, shape: v.shape, dtype: v.dtype });
    data.set(name, new Uint8Array(buf.subarray(8 + n + v.data_offsets[0], 8 + n + v.data_offsets[1])));
  }
  return { tensors, data };
}

/**
 * llama-perplexity's final estimate. llama.cpp logs from a worker thread that is not flushed at
 * exit (common/log.cpp, "logs may be lost"), so on a busy machine the last lines sometimes never
 * arrive: run again when the estimate is missing.
 */
async function perplexity(t: TestContext, gguf: string, text: string): Promise<number> {
  const tools = await llamaToolsOrSkip(t);
  if (!tools) return NaN;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const r = await runLlamaTool('llama-perplexity', ['-m', gguf, '-c', '256', '-f', text], { tools });
    const m = /Final estimate: PPL = ([0-9.]+)/.exec(r.stdout + r.stderr);
    if (m) return Number(m[1]);
    t.diagnostic(`attempt ${attempt}: llama-perplexity exited without printing its final estimate (lost log lines); running it again`);
  }
  assert.fail('llama-perplexity never printed a final estimate');
}

for (const name of ['pajama-tiny-gqa', 'pajama-tiny-moe']) {
  describe(`MLX output of ${name}`, () => {
    let mlxDir: string;
    let hfDir: string | undefined;

    it("writes the tensors of the note's rules, every weight within the error bound", async (t) => {
      const dir = sharedAsset(t, `models/${name}`);
      if (!dir) return;
      hfDir = dir;
      mlxDir = path.join(work, `${name}-mlx`);
      const result = await writeMlxModel(dir, mlxDir, pajamasMlxPolicy({ bits: 4, groupSize: 64 }));
      t.diagnostic(`${result.bitsPerWeight.toFixed(3)} bits per weight, ${result.bytes} bytes, ${result.seconds}s`);
      await checkWritten(readHfModel(dir), mlxDir, pajamasWidth(4, 64));
    });

    it(`dequantized to F16 and converted, stays within ${MAX_PPL_RISE * 100}% of F16 perplexity`, async (t) => {
      if (!hfDir) return t.skip('the model was not written');
      const text = sharedAsset(t, 'data/war-and-peace-heldout.txt');
      if (!text) return;
      const reference = JSON.parse(readFileSync(path.join(hfDir, 'TRAINING.json'), 'utf8')).reference_ppl_llamacpp_ctx256 as number;
      const deqDir = path.join(work, `${name}-deq`);
      await dequantizeMlxModel(mlxDir, deqDir);
      const gguf = path.join(work, `${name}-mlx-f16.gguf`);
      await convertToGguf(deqDir, { outPath: gguf, outType: 'f16' });
      const ppl = await perplexity(t, gguf, text);
      if (Number.isNaN(ppl)) return;
      t.diagnostic(`MLX pajamas 4-bit: PPL ${ppl} vs F16 ${reference} (${((ppl / reference - 1) * 100).toFixed(2)}%)`);
      assert.ok(ppl <= reference * (1 + MAX_PPL_RISE), `PPL ${ppl} is more than ${MAX_PPL_RISE * 100}% above F16's ${reference}`);
      assert.ok(ppl >= reference * 0.98, `PPL ${ppl} is implausibly below F16's ${reference}`);
    });
  });
}
