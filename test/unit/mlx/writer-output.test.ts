/**
 * writeMlxModel's output handling: shards at the size limit with the index, the atomic folder
 * (cancel leaves nothing, an old folder survives a failed rewrite), dtype casting, tied embeddings,
 * plan-driven policies, and the refusals.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { mlxPolicyFromPlan, naiveMlxPolicy, pajamasMlxPolicy } from '../../../src/core/mlx/policy';
import { writeMlxModel } from '../../../src/core/mlx/writer';
import { readTensorBytes } from '../../../src/core/formats/safetensors';
import { quantizeAffine } from '../../../src/core/mlx/affine';
import { openMlxModel, quantizedWeight } from '../../../src/core/mlx/reader';
import { f32Bits } from './affine-helpers';
import type { QuantPlan } from '../../../src/core/plan/types';
import { checkWritten, pajamasWidth, rawHeader } from './check-written';
import { writeFixtureModel } from './fixture-models';

let root: string;
before(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'pajamas-mlx-output-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

const dense = { modelType: 'llama', hidden: 64, ffn: 128, layers: 2, vocab: 128 } as const;

describe('writeMlxModel: shards', () => {
  it('starts a new shard when the next tensor would pass the limit, and indexes every tensor', async () => {
    const model = writeFixtureModel(path.join(root, 'shards'), dense, 4);
    const outDir = path.join(root, 'shards-mlx');
    const limit = 20_000;
    await writeMlxModel(model.dir, outDir, pajamasMlxPolicy({ bits: 4, groupSize: 64 }), { maxShardBytes: limit });
    const files = readdirSync(outDir)
      .filter((f) => f.endsWith('.safetensors'))
      .sort();
    assert.ok(files.length > 2, `${files.length} shards`);
    files.forEach((f, i) =>
      assert.equal(f, `model-${String(i + 1).padStart(5, '0')}-of-${String(files.length).padStart(5, '0')}.safetensors`),
    );
    // Re-split the sorted tensor list by the rule and compare with what was written.
    const perFile = files.map((f) => {
      const { json } = rawHeader(path.join(outDir, f));
      return Object.entries(json)
        .filter(([k]) => k !== '__metadata__')
        .map(([k, v]) => ({
          name: k,
          bytes: (v as { data_offsets: number[] }).data_offsets[1]! - (v as { data_offsets: number[] }).data_offsets[0]!,
        }));
    });
    const all = perFile.flat().sort((a, b) => (a.name < b.name ? -1 : 1));
    const expected: string[][] = [[]];
    let size = 0;
    for (const t of all) {
      if (expected[expected.length - 1]!.length && size + t.bytes > limit) {
        expected.push([]);
        size = 0;
      }
      expected[expected.length - 1]!.push(t.name);
      size += t.bytes;
    }
    assert.deepEqual(
      perFile.map((ts) => ts.map((t) => t.name)),
      expected,
    );
    const index = JSON.parse(readFileSync(path.join(outDir, 'model.safetensors.index.json'), 'utf8'));
    perFile.forEach((ts, i) => ts.forEach((t) => assert.equal(index.weight_map[t.name], files[i])));
    assert.equal(Object.keys(index.weight_map).length, all.length);
    await checkWritten(model, outDir, pajamasWidth(4, 64));
  });
});

describe('writeMlxModel: atomic output', () => {
  it('leaves nothing behind when cancelled, and keeps an existing folder', async () => {
    const model = writeFixtureModel(path.join(root, 'atomic'), dense, 5);
    const parent = path.join(root, 'atomic-out');
    const outDir = path.join(parent, 'model-mlx');
    const controller = new AbortController();
    const run = writeMlxModel(model.dir, outDir, naiveMlxPolicy({ bits: 4, groupSize: 64 }), {
      signal: controller.signal,
      chunkBytes: 512,
      onProgress: () => controller.abort(),
    });
    await assert.rejects(run, (e: Error & { code?: string }) => e.code === 'cancelled');
    assert.deepEqual(readdirSync(parent), [], 'no output, no temporary folder');

    await writeMlxModel(model.dir, outDir, naiveMlxPolicy({ bits: 4, groupSize: 64 }));
    const before = readFileSync(path.join(outDir, 'model.safetensors'));
    const again = new AbortController();
    again.abort();
    await assert.rejects(writeMlxModel(model.dir, outDir, naiveMlxPolicy({ bits: 8, groupSize: 64 }), { signal: again.signal }));
    assert.deepEqual(readFileSync(path.join(outDir, 'model.safetensors')), before, 'the old folder is untouched');
    assert.deepEqual(readdirSync(parent), ['model-mlx']);
  });
});

describe('writeMlxModel: dtypes, tied embeddings, policies', () => {
  it('casts float32 weights to the config dtype (bf16) before quantizing, as mlx_lm does', async () => {
    const model = writeFixtureModel(path.join(root, 'f32'), { ...dense, dtype: 'F32' }, 6);
    const outDir = path.join(root, 'f32-mlx');
    const result = await writeMlxModel(model.dir, outDir, pajamasMlxPolicy({ bits: 5, groupSize: 32 }));
    assert.equal(result.dtype, 'BF16');
    await checkWritten(model, outDir, pajamasWidth(5, 32));
    // The packed words are those of the bf16-rounded weights, not of the float32 ones.
    const src = model.data.get('model.layers.0.mlp.gate_proj.weight')!;
    const f32 = new Float32Array(src.buffer, src.byteOffset, src.byteLength / 4);
    const bf16 = Uint16Array.from(f32, (x) => {
      const b = f32Bits(x);
      return (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
    });
    const q = quantizedWeight(await openMlxModel(outDir), 'model.layers.0.mlp.gate_proj')!;
    assert.deepEqual(await readTensorBytes(q.weight), Buffer.from(quantizeAffine(bf16, 'BF16', q.quant).words.buffer));
    assert.notDeepEqual(await readTensorBytes(q.weight), Buffer.from(quantizeAffine(f32, 'F32', q.quant).words.buffer));
  });

  it('writes no lm_head for tied embeddings', async () => {
    const model = writeFixtureModel(path.join(root, 'tied'), { ...dense, tied: true }, 7);
    const outDir = path.join(root, 'tied-mlx');
    await writeMlxModel(model.dir, outDir, pajamasMlxPolicy({ bits: 4, groupSize: 64 }));
    const { json } = rawHeader(path.join(outDir, 'model.safetensors'));
    assert.ok(!Object.keys(json).some((k) => k.startsWith('lm_head')));
    assert.equal(JSON.parse(readFileSync(path.join(outDir, 'config.json'), 'utf8')).tie_word_embeddings, true);
  });

  it('follows a plan: its widths per HF tensor, null = unquantized, unlisted weights reported', async () => {
    const model = writeFixtureModel(path.join(root, 'plan'), dense, 8);
    const tensors = model.tensors
      .filter((t) => t.shape.length === 2 && !t.name.endsWith('layers.1.mlp.up_proj.weight'))
      .map((t) => ({
        hfName: t.name,
        mlx: t.name.includes('embed')
          ? { bits: 8, groupSize: 64 }
          : t.name.includes('layers.0.self_attn.q_proj')
            ? null
            : { bits: 4, groupSize: 32 },
      }));
    const plan = { strategy: 'pajamas', mlxDefault: { bits: 4, groupSize: 32 }, tensors } as unknown as QuantPlan;
    const unplanned: string[] = [];
    await writeMlxModel(model.dir, path.join(root, 'plan-mlx'), mlxPolicyFromPlan(plan, unplanned));
    const q = JSON.parse(readFileSync(path.join(root, 'plan-mlx', 'config.json'), 'utf8')).quantization;
    assert.deepEqual(q, {
      bits: 4,
      group_size: 32,
      mode: 'affine',
      'model.embed_tokens': { bits: 8, group_size: 64 },
      'model.layers.0.self_attn.q_proj': false,
      'model.layers.1.mlp.up_proj': false,
    });
    assert.deepEqual(unplanned, ['model.layers.1.mlp.up_proj']);
  });
});

describe('writeMlxModel: refusals', () => {
  it('refuses model types it has no mlx_lm naming for, and pre-quantized sources', async () => {
    const model = writeFixtureModel(path.join(root, 'refuse'), dense, 9);
    const config = JSON.parse(readFileSync(path.join(model.dir, 'config.json'), 'utf8'));
    writeFileSync(path.join(model.dir, 'config.json'), JSON.stringify({ ...config, model_type: 'gemma3_text' }));
    await assert.rejects(
      writeMlxModel(model.dir, path.join(root, 'refuse-mlx'), naiveMlxPolicy({ bits: 4, groupSize: 64 })),
      (e: Error & { code?: string }) => {
        return e.code === 'unsupported' && /gemma3_text/.test(e.message) && /llama, mistral/.test(e.message) && /GGUF/.test(e.message);
      },
    );
    writeFileSync(path.join(model.dir, 'config.json'), JSON.stringify({ ...config, quantization_config: { quant_method: 'fp8' } }));
    await assert.rejects(
      writeMlxModel(model.dir, path.join(root, 'refuse-mlx'), naiveMlxPolicy({ bits: 4, groupSize: 64 })),
      /already quantized/,
    );
    assert.ok(!existsSync(path.join(root, 'refuse-mlx')));
  });

  it('rejects widths MLX does not have', () => {
    assert.throws(
      () => naiveMlxPolicy({ bits: 7, groupSize: 64 }),
      (e: Error & { code?: string }) => e.code === 'usage' && /bits 2, 3, 4, 5, 6, 8/.test(e.message),
    );
    assert.throws(() => pajamasMlxPolicy({ bits: 4, groupSize: 48 }), /group sizes 32, 64, 128/);
  });
});
