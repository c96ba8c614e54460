/**
 * writeMlxModel on tiny in-memory models (dense Llama, Mixtral, Qwen3-MoE): tensor names, shapes
 * and dtypes against the list the test derives from the note's rules; config.json, index, headers
 * and shards; every weight read back, dequantized and bounded; the round trip back to HF names;
 * atomic output and refusals.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openSafetensorsModel, readTensorBytes } from '../../../src/core/formats/safetensors';
import { quantizeAffine } from '../../../src/core/mlx/affine';
import { dequantizeMlxModel } from '../../../src/core/mlx/dequantize';
import { pajamasMlxPolicy } from '../../../src/core/mlx/policy';
import { openMlxModel, quantizedWeight } from '../../../src/core/mlx/reader';
import { writeMlxModel } from '../../../src/core/mlx/writer';
import { checkWritten, pajamasWidth, rawHeader } from './check-written';
import { writeFixtureModel, type FixtureModel, type FixtureShape } from './fixture-models';

let root: string;
before(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'pajamas-mlx-writer-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

describe('writeMlxModel: dense Llama', () => {
  const shape: FixtureShape = { modelType: 'llama', hidden: 64, ffn: 96, layers: 2, vocab: 128, invFreq: true };
  let model: FixtureModel;
  let outDir: string;
  before(async () => {
    model = writeFixtureModel(path.join(root, 'llama'), shape);
    outDir = path.join(root, 'llama-mlx');
    // Small chunks and two threads, so weights cross chunk and worker boundaries.
    await writeMlxModel(model.dir, outDir, pajamasMlxPolicy({ bits: 4, groupSize: 64 }), { chunkBytes: 1000, threads: 2 });
  });

  it("writes the tensors the note's rules give, each within the error bound", async () => {
    await checkWritten(model, outDir, pajamasWidth(4, 64));
  });

  it('packs exactly what the quantizer gives for the whole tensor (chunking changes nothing)', async () => {
    const mlx = await openMlxModel(outDir);
    const q = quantizedWeight(mlx, 'model.layers.1.mlp.up_proj')!;
    const src = model.data.get('model.layers.1.mlp.up_proj.weight')!;
    const direct = quantizeAffine(new Uint16Array(src.buffer, src.byteOffset, src.byteLength / 2), 'BF16', q.quant);
    assert.deepEqual(await readTensorBytes(q.weight), Buffer.from(direct.words.buffer));
  });

  it('writes config.json with sorted keys, indent 4, and the quantization twice', () => {
    const text = readFileSync(path.join(outDir, 'config.json'), 'utf8');
    assert.match(text, /^\{\n {4}"architectures": \[\n {8}"LlamaForCausalLM"\n {4}\],\n/);
    const config = JSON.parse(text);
    assert.deepEqual(Object.keys(config), Object.keys(config).sort());
    assert.equal(config._name_or_path, undefined, 'mlx_lm drops _name_or_path');
    assert.deepEqual(config.quantization, config.quantization_config);
    assert.deepEqual(config.quantization, {
      bits: 4,
      group_size: 64,
      mode: 'affine',
      lm_head: { bits: 6, group_size: 64 },
      'model.embed_tokens': { bits: 6, group_size: 64 },
      'model.layers.0.mlp.down_proj': false,
      'model.layers.1.mlp.down_proj': false,
    });
  });

  it('writes the index with sorted names, total size and parameter count', () => {
    const index = JSON.parse(readFileSync(path.join(outDir, 'model.safetensors.index.json'), 'utf8'));
    const names = Object.keys(index.weight_map);
    assert.deepEqual(names, [...names].sort());
    assert.ok(Object.values(index.weight_map).every((f) => f === 'model.safetensors'));
    const { json } = rawHeader(path.join(outDir, 'model.safetensors'));
    assert.deepEqual(
      names,
      Object.keys(json).filter((k) => k !== '__metadata__'),
    );
    const size = Object.entries(json).reduce(
      (n, [k, v]) =>
        k === '__metadata__'
          ? n
          : n + (v as { data_offsets: number[] }).data_offsets[1]! - (v as { data_offsets: number[] }).data_offsets[0]!,
      0,
    );
    assert.equal(index.metadata.total_size, size);
    const params = model.tensors.filter((t) => !t.name.includes('inv_freq')).reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
    assert.equal(index.metadata.total_parameters, params);
  });

  it('copies tokenizer, chat template and generation config, nothing else', () => {
    const files = readdirSync(outDir).sort();
    assert.deepEqual(files, [
      'chat_template.jinja',
      'config.json',
      'generation_config.json',
      'model.safetensors',
      'model.safetensors.index.json',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
  });

  it('dequantizes back to the HF names and shapes in F16', async () => {
    const hfDir = path.join(root, 'llama-deq');
    const result = await dequantizeMlxModel(outDir, hfDir);
    const back = await openSafetensorsModel(hfDir);
    const expectedNames = model.tensors
      .filter((t) => !t.name.includes('inv_freq'))
      .map((t) => t.name)
      .sort();
    assert.deepEqual([...back.tensors.keys()].sort(), expectedNames);
    for (const t of model.tensors.filter((x) => !x.name.includes('inv_freq'))) {
      assert.deepEqual(back.tensors.get(t.name)!.shape, t.shape, t.name);
      assert.equal(back.tensors.get(t.name)!.dtype, 'F16', t.name);
    }
    const config = JSON.parse(readFileSync(path.join(hfDir, 'config.json'), 'utf8'));
    assert.equal(config.quantization, undefined);
    assert.equal(config.torch_dtype, 'float16');
    // q, k, v, o, gate and up in both layers, embeddings and lm_head; down_proj (row 96) was never quantized.
    assert.equal(result.dequantizedWeights, 2 * 6 + 2);
  });
});
