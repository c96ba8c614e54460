/**
 * writeMlxModel on tiny MoE models: experts stacked into switch_mlp as mlx_lm names them (Mixtral
 * w1/w2/w3 -> gate/down/up_proj, Qwen3-MoE mlp.experts -> mlp.switch_mlp), routers at 8 bits under
 * the pajamas rules, and the round trip back to per-expert HF tensors.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openSafetensorsModel, readTensorBytes } from '../../../src/core/formats/safetensors';
import { quantizeAffine } from '../../../src/core/mlx/affine';
import { dequantizeMlxModel } from '../../../src/core/mlx/dequantize';
import { naiveMlxPolicy, pajamasMlxPolicy } from '../../../src/core/mlx/policy';
import { openMlxModel, quantizedWeight } from '../../../src/core/mlx/reader';
import { writeMlxModel } from '../../../src/core/mlx/writer';
import { checkWritten, pajamasWidth } from './check-written';
import { writeFixtureModel, type FixtureModel } from './fixture-models';

let root: string;
before(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'pajamas-mlx-moe-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

describe('writeMlxModel: Mixtral', () => {
  let model: FixtureModel;
  let outDir: string;
  before(async () => {
    model = writeFixtureModel(
      path.join(root, 'mixtral'),
      { modelType: 'mixtral', hidden: 64, ffn: 128, layers: 2, vocab: 128, experts: 4 },
      2,
    );
    outDir = path.join(root, 'mixtral-mlx');
    await writeMlxModel(model.dir, outDir, pajamasMlxPolicy({ bits: 4, groupSize: 64 }), { chunkBytes: 4096, threads: 2 });
  });

  it('stacks experts into block_sparse_moe.switch_mlp and bounds every weight', async () => {
    await checkWritten(model, outDir, pajamasWidth(4, 64));
    const config = JSON.parse(readFileSync(path.join(outDir, 'config.json'), 'utf8'));
    assert.deepEqual(config.quantization['model.layers.1.block_sparse_moe.gate'], { bits: 8, group_size: 64 });
    assert.equal(config.quantization['model.layers.1.block_sparse_moe.switch_mlp.down_proj'], undefined, 'body width: no entry');
  });

  it('gives the bytes of the experts quantized one by one and concatenated', async () => {
    const mlx = await openMlxModel(outDir);
    const q = quantizedWeight(mlx, 'model.layers.0.block_sparse_moe.switch_mlp.down_proj')!;
    assert.deepEqual(q.shape, [4, 64, 128]);
    const parts = [0, 1, 2, 3].map((e) => {
      const src = model.data.get(`model.layers.0.block_sparse_moe.experts.${e}.w2.weight`)!;
      return Buffer.from(quantizeAffine(new Uint16Array(src.buffer, src.byteOffset, src.byteLength / 2), 'BF16', q.quant).words.buffer);
    });
    assert.deepEqual(await readTensorBytes(q.weight), Buffer.concat(parts));
  });

  it('dequantizes back into experts.E.w1/w2/w3', async () => {
    const hfDir = path.join(root, 'mixtral-deq');
    await dequantizeMlxModel(outDir, hfDir);
    const back = await openSafetensorsModel(hfDir);
    assert.deepEqual([...back.tensors.keys()].sort(), model.tensors.map((t) => t.name).sort());
    assert.deepEqual(back.tensors.get('model.layers.1.block_sparse_moe.experts.3.w2.weight')!.shape, [64, 128]);
  });
});

describe('writeMlxModel: Qwen3-MoE, naive 3-bit group 32', () => {
  it('stacks mlp.experts into mlp.switch_mlp and quantizes every weight, routers included', async () => {
    const model = writeFixtureModel(
      path.join(root, 'qwen3moe'),
      { modelType: 'qwen3_moe', hidden: 64, ffn: 32, layers: 1, vocab: 96, experts: 3 },
      3,
    );
    const outDir = path.join(root, 'qwen3moe-mlx');
    const result = await writeMlxModel(model.dir, outDir, naiveMlxPolicy({ bits: 3, groupSize: 32 }), { threads: 1 });
    await checkWritten(model, outDir, () => ({ bits: 3, groupSize: 32 }));
    const config = JSON.parse(readFileSync(path.join(outDir, 'config.json'), 'utf8'));
    assert.deepEqual(config.quantization, { bits: 3, group_size: 32, mode: 'affine' }, 'one width everywhere: no per-layer entries');
    assert.ok(result.weights.every((w) => w.quant?.bits === 3));
    assert.ok(result.weights.some((w) => w.modulePath === 'model.layers.0.mlp.switch_mlp.gate_proj'));
  });
});
