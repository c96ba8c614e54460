import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { modelTensorsFromSafetensors, planTensors } from '../../../src/core/convert';
import { FormatError, UnsupportedError } from '../../../src/core/errors';
import { openSafetensorsModel } from '../../../src/core/formats/safetensors';
import { buildTinyModel, type TinyArch, type TinyModelOptions } from '../../fixtures/models/tiny-models';

async function tiny(t: TestContext, arch: TinyArch, opts: TinyModelOptions = {}) {
  const m = buildTinyModel(arch, opts);
  t.after(() => rmSync(m.dir, { recursive: true, force: true }));
  return { ...m, st: await openSafetensorsModel(m.dir) };
}

test('llama: GGUF names, reversed shapes, f32 norms, rope permutation on Q/K only, untied output kept', async (t) => {
  const m = await tiny(t, 'llama', { dtype: 'BF16' });
  const plan = planTensors(m.config as never, m.st, 'f16');
  const byName = new Map(plan.recipes.map((r) => [r.name, r]));
  assert.equal(plan.spec.ggufArch, 'llama');
  assert.equal(plan.nVocab, 320);
  assert.deepEqual(byName.get('token_embd.weight')!.shape, [64, 320]);
  assert.equal(byName.get('token_embd.weight')!.type, 'F16');
  assert.deepEqual(byName.get('blk.1.attn_k.weight')!.shape, [64, 32]);
  assert.equal(byName.get('blk.1.attn_k.weight')!.transform.ropeHeads, 2);
  assert.equal(byName.get('blk.0.attn_q.weight')!.transform.ropeHeads, 4);
  assert.equal(byName.get('blk.0.attn_v.weight')!.transform.ropeHeads, undefined);
  assert.equal(byName.get('blk.0.attn_norm.weight')!.type, 'F32');
  assert.equal(byName.get('output.weight')!.hfName, 'lm_head.weight');
  assert.equal(byName.get('blk.0.ffn_down.weight')!.hfName, 'model.layers.0.mlp.down_proj.weight');
  assert.equal(plan.recipes.length, 3 + 2 * 9);
  const mt = modelTensorsFromSafetensors(null, m.config as never, m.st);
  assert.deepEqual(
    mt.find((x) => x.name === 'blk.0.ffn_gate.weight'),
    { name: 'blk.0.ffn_gate.weight', shape: [64, 96], hfName: 'model.layers.0.mlp.gate_proj.weight', sourceDtype: 'BF16' },
  );
});

test('llama3 rope scaling adds rope_freqs.weight with llama.cpp factors; tied embeddings have no output', async (t) => {
  const m = await tiny(t, 'llama3');
  const plan = planTensors(m.config as never, m.st, 'f32');
  const freqs = plan.recipes[0]!;
  assert.equal(freqs.name, 'rope_freqs.weight');
  assert.deepEqual(freqs.shape, [8]);
  // head_dim 16, theta 5e5, original context 64: short wavelengths keep factor 1, long ones get 8.
  const f = Array.from(freqs.generated!);
  assert.equal(f[0], 1);
  assert.equal(f[7], 8);
  assert.ok(f.every((x, i) => i === 0 || x >= f[i - 1]!));
  assert.ok(f.some((x) => x > 1 && x < 8));
  assert.equal(
    plan.recipes.find((r) => r.name === 'output.weight'),
    undefined,
  );
});

test('mixtral: per-expert w1/w2/w3 stack into ffn_{gate,down,up}_exps in expert order; router stays f32', async (t) => {
  const m = await tiny(t, 'mixtral', { dtype: 'BF16' });
  const plan = planTensors(m.config as never, m.st, 'f16');
  const gate = plan.recipes.find((r) => r.name === 'blk.1.ffn_gate_exps.weight')!;
  assert.deepEqual(gate.shape, [64, 96, 4]);
  assert.deepEqual(
    gate.hfName,
    [0, 1, 2, 3].map((e) => `model.layers.1.block_sparse_moe.experts.${e}.w1.weight`),
  );
  assert.deepEqual(plan.recipes.find((r) => r.name === 'blk.0.ffn_down_exps.weight')!.shape, [96, 64, 4]);
  assert.equal(
    plan.recipes.find((r) => r.name === 'blk.0.ffn_up_exps.weight')!.segments[3]!.tensor.name,
    'model.layers.0.block_sparse_moe.experts.3.w3.weight',
  );
  const router = plan.recipes.find((r) => r.name === 'blk.0.ffn_gate_inp.weight')!;
  assert.equal(router.type, 'F32');
  assert.deepEqual(router.shape, [64, 4]);
});

test('qwen2-moe shared expert and gate; qwen3-moe fused gate_up is split into gate and up halves per expert', async (t) => {
  const q2 = await tiny(t, 'qwen2_moe');
  const p2 = planTensors(q2.config as never, q2.st, 'f16');
  assert.equal(p2.recipes.find((r) => r.name === 'blk.0.ffn_gate_inp_shexp.weight')!.type, 'F32');
  assert.deepEqual(p2.recipes.find((r) => r.name === 'blk.0.ffn_down_shexp.weight')!.shape, [48, 64]);
  assert.equal(p2.recipes.find((r) => r.name === 'blk.0.attn_q.bias')!.type, 'F32');
  const fused = await tiny(t, 'qwen3_moe_fused');
  const pf = planTensors(fused.config as never, fused.st, 'f16');
  const up = pf.recipes.find((r) => r.name === 'blk.1.ffn_up_exps.weight')!;
  assert.deepEqual(up.shape, [64, 32, 4]);
  assert.deepEqual(
    up.segments.map((s) => [s.firstRow, s.rows]),
    [
      [32, 32],
      [96, 32],
      [160, 32],
      [224, 32],
    ],
  );
  const gate = pf.recipes.find((r) => r.name === 'blk.1.ffn_gate_exps.weight')!;
  assert.deepEqual(
    gate.segments.map((s) => s.firstRow),
    [0, 64, 128, 192],
  );
  assert.deepEqual(pf.recipes.find((r) => r.name === 'blk.1.ffn_down_exps.weight')!.shape, [32, 64, 4]);
});

test('gemma: norms get +1, lm_head is not an input; phi3 keeps fused qkv and gate_up', async (t) => {
  const g = await tiny(t, 'gemma3');
  const pg = planTensors(g.config as never, g.st, 'f16');
  assert.equal(pg.spec.ggufArch, 'gemma3');
  assert.equal(pg.recipes.find((r) => r.name === 'blk.0.attn_q_norm.weight')!.transform.add, 1);
  assert.equal(pg.recipes.find((r) => r.name === 'blk.0.post_ffw_norm.weight')!.transform.add, 1);
  assert.equal(pg.recipes.find((r) => r.name === 'blk.0.attn_q.weight')!.transform.ropeHeads, undefined);
  const p = await tiny(t, 'phi3');
  const pp = planTensors(p.config as never, p.st, 'f16');
  assert.deepEqual(pp.recipes.find((r) => r.name === 'blk.0.attn_qkv.weight')!.shape, [64, 128]);
  assert.deepEqual(pp.recipes.find((r) => r.name === 'blk.0.ffn_up.weight')!.shape, [64, 192]);
});

test('a config that disagrees with the weights is a FormatError naming the tensor and the config fields', async (t) => {
  const m = await tiny(t, 'llama');
  assert.throws(
    () => planTensors({ ...m.config, num_key_value_heads: 4 } as never, m.st, 'f16'),
    (e: unknown) => e instanceof FormatError && /k_proj/.test(e.message) && /4 KV heads/.test(e.message),
  );
  assert.throws(() => planTensors({ ...m.config, num_hidden_layers: 3 } as never, m.st, 'f16'), /lacks .* tensor\(s\).*blk\.2\./);
  assert.throws(() => planTensors({ ...m.config, num_hidden_layers: 1 } as never, m.st, 'f16'), /says 1 layers/);
  assert.throws(() => planTensors({ ...m.config, vocab_size: 321 } as never, m.st, 'f16'), /vocab_size 321/);
  const tied = await tiny(t, 'llama3');
  assert.throws(() => planTensors({ ...tied.config, tie_word_embeddings: false } as never, tied.st, 'f16'), /no lm_head/);
  const moe = await tiny(t, 'mixtral');
  assert.throws(
    () => planTensors({ ...moe.config, num_local_experts: 5 } as never, moe.st, 'f16'),
    /gate\.weight has shape \[4, 64\].*5 experts/,
  );
});

test('unknown tensors and unsupported architectures are UnsupportedErrors that say what is supported', async (t) => {
  const m = await tiny(t, 'llama');
  assert.throws(
    () => planTensors({ ...m.config, model_type: 'falcon_mamba' } as never, m.st, 'f16'),
    (e: unknown) => e instanceof UnsupportedError && /Supported model types: llama/.test(e.message) && /gpt_oss/.test(e.message),
  );
  // A gpt_oss config on llama weights: the llama MLP has no GGUF name there, and gpt-oss's own
  // tensors are missing, so the weights belong to another model (bad input, issue 16).
  assert.throws(
    () => planTensors({ ...m.config, model_type: 'gpt_oss', sliding_window: 4 } as never, m.st, 'f16'),
    /are not gpt-oss names .*the weights belong to another model/,
  );
  // A qwen3 config on llama weights: no q_norm/k_norm.
  assert.throws(() => planTensors({ ...m.config, model_type: 'qwen3' } as never, m.st, 'f16'), /attn_q_norm/);
  const q = await tiny(t, 'qwen3_moe');
  assert.throws(() => planTensors({ ...q.config, mlp_only_layers: [1] } as never, q.st, 'f16'), /every layer to be MoE/);
  const withExtra = await tiny(t, 'qwen3');
  assert.throws(() => planTensors({ ...withExtra.config, model_type: 'qwen2' } as never, withExtra.st, 'f16'), /q_norm/);
});

test('a gemma-3 multimodal checkpoint: text_config defaults, language_model. prefixes removed, vision tower left out', () => {
  const H = 2560;
  const layers = 1;
  const shapes: [string, number[]][] = [
    ['language_model.model.embed_tokens.weight', [262208, H]],
    ['language_model.model.norm.weight', [H]],
    ['vision_tower.vision_model.embeddings.patch_embedding.weight', [1152, 3, 14, 14]],
    ['multi_modal_projector.mm_input_projection_weight', [1152, H]],
  ];
  const p = 'language_model.model.layers.0.';
  // Gemma3TextConfig defaults: 8 heads of 256, 4 KV heads.
  shapes.push(
    [`${p}self_attn.q_proj.weight`, [8 * 256, H]],
    [`${p}self_attn.k_proj.weight`, [4 * 256, H]],
    [`${p}self_attn.v_proj.weight`, [4 * 256, H]],
  );
  shapes.push(
    [`${p}self_attn.o_proj.weight`, [H, 8 * 256]],
    [`${p}self_attn.q_norm.weight`, [256]],
    [`${p}self_attn.k_norm.weight`, [256]],
  );
  for (const n of ['input_layernorm', 'post_attention_layernorm', 'pre_feedforward_layernorm', 'post_feedforward_layernorm'])
    shapes.push([`${p}${n}.weight`, [H]]);
  shapes.push([`${p}mlp.gate_proj.weight`, [10240, H]], [`${p}mlp.up_proj.weight`, [10240, H]], [`${p}mlp.down_proj.weight`, [H, 10240]]);
  const tensors = new Map(
    shapes.map(([name, shape], i) => [
      name,
      { name, dtype: 'BF16' as const, shape, file: 'model.safetensors', dataOffset: i, byteLength: 0 },
    ]),
  );
  const config = {
    architectures: ['Gemma3ForConditionalGeneration'],
    model_type: 'gemma3',
    text_config: {
      model_type: 'gemma3_text',
      hidden_size: H,
      intermediate_size: 10240,
      num_hidden_layers: layers,
      sliding_window: 1024,
      rope_scaling: { rope_type: 'linear', factor: 8 },
    },
    vision_config: { model_type: 'siglip_vision_model', hidden_size: 1152 },
  };
  const plan = planTensors(config as never, { dir: '/x', files: [], tensors }, 'f16');
  assert.equal(plan.spec.ggufArch, 'gemma3');
  assert.deepEqual(
    plan.recipes
      .map((r) => r.name)
      .sort()
      .slice(0, 3),
    ['blk.0.attn_k.weight', 'blk.0.attn_k_norm.weight', 'blk.0.attn_norm.weight'],
  );
  assert.ok(!plan.recipes.some((r) => String(r.hfName).includes('vision')));
  assert.equal(plan.dropped.length, 2);
  assert.equal(plan.hparams.headDim, 256);
  assert.equal(plan.nVocab, 262208);
});
