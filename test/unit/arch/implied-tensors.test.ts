/**
 * impliedTensors: GGUF names and GGUF-order shapes as llama.cpp's converter writes them, and the
 * computed parameter count is exactly their sum.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { detectFromConfig } from '../../../src/core/arch/from-config';
import { impliedTensors } from '../../../src/core/arch/implied-tensors';
import type { ModelTensor } from '../../../src/core/arch/model-tensor';
import { readGgufHeader } from '../../../src/core/formats/gguf';
import { type HfConfig, parseConfigJson } from '../../../src/core/hf/config';
import { sharedAsset } from '../../helpers/env';
import { TINY_LLAMA_CONFIG } from '../../fixtures/configs';
import { llamaTensors } from '../../fixtures/tensor-lists';

const LLAMA: HfConfig = TINY_LLAMA_CONFIG;

function implied(config: HfConfig): { tensors: ModelTensor[]; shapes: Map<string, number[]> } {
  const tensors = impliedTensors(detectFromConfig(config, 't'), config);
  return { tensors, shapes: new Map(tensors.map((t) => [t.name, t.shape])) };
}

const sorted = (ts: readonly ModelTensor[]) => ts.map((t) => `${t.name} ${t.shape.join('x')}`).sort();

test('a Llama config implies exactly the tensors of an independent Llama list', () => {
  const expected = llamaTensors({ layers: 2, hidden: 64, ffn: 128, heads: 4, kvHeads: 2, vocab: 100 });
  assert.deepEqual(sorted(implied(LLAMA).tensors), sorted(expected));
  const tied = implied({ ...LLAMA, tie_word_embeddings: true });
  assert.equal(tied.shapes.has('output.weight'), false);
  assert.ok(tied.tensors.every((t) => t.hfName === null));
});

test('Mixtral-style experts are stacked 3-D tensors [in, out, n_expert]', () => {
  const config = { ...LLAMA, model_type: 'mixtral', num_local_experts: 8, num_experts_per_tok: 2, intermediate_size: 32 };
  const expected = llamaTensors({ layers: 2, hidden: 64, ffn: 32, heads: 4, kvHeads: 2, vocab: 100, experts: 8 });
  assert.deepEqual(sorted(implied(config).tensors), sorted(expected));
  const { shapes } = implied(config);
  assert.deepEqual(shapes.get('blk.1.ffn_gate_exps.weight'), [64, 32, 8]);
  assert.deepEqual(shapes.get('blk.1.ffn_down_exps.weight'), [32, 64, 8]);
  assert.deepEqual(shapes.get('blk.1.ffn_gate_inp.weight'), [64, 8]);
});

test('Qwen-MoE: qkv biases, shared expert with its sigmoid gate', () => {
  const { shapes } = implied({
    ...LLAMA,
    model_type: 'qwen2_moe',
    num_experts: 4,
    num_experts_per_tok: 2,
    moe_intermediate_size: 16,
    shared_expert_intermediate_size: 48,
  });
  assert.deepEqual(shapes.get('blk.0.attn_q.bias'), [64]);
  assert.deepEqual(shapes.get('blk.0.attn_k.bias'), [32]);
  assert.equal(shapes.has('blk.0.attn_output.bias'), false);
  assert.deepEqual(shapes.get('blk.0.ffn_gate_inp_shexp.weight'), [64]);
  assert.deepEqual(shapes.get('blk.0.ffn_up_shexp.weight'), [64, 48]);
  assert.deepEqual(shapes.get('blk.0.ffn_down_shexp.weight'), [48, 64]);
  assert.deepEqual(shapes.get('blk.0.ffn_up_exps.weight'), [64, 16, 4]);
});

test('DeepSeek MLA: low-rank projections, kv_b split per head, selection bias, dense first layer', () => {
  const config = {
    ...LLAMA,
    model_type: 'deepseek_v3',
    num_key_value_heads: 4,
    q_lora_rank: 24,
    kv_lora_rank: 16,
    qk_nope_head_dim: 8,
    qk_rope_head_dim: 4,
    v_head_dim: 8,
    n_routed_experts: 4,
    num_experts_per_tok: 2,
    n_shared_experts: 1,
    moe_intermediate_size: 16,
    first_k_dense_replace: 1,
    topk_method: 'noaux_tc',
  };
  const { shapes } = implied(config);
  assert.deepEqual(shapes.get('blk.0.attn_q_a.weight'), [64, 24]);
  assert.deepEqual(shapes.get('blk.0.attn_q_a_norm.weight'), [24]);
  assert.deepEqual(shapes.get('blk.0.attn_q_b.weight'), [24, 4 * 12]);
  assert.deepEqual(shapes.get('blk.0.attn_kv_a_mqa.weight'), [64, 16 + 4]);
  assert.deepEqual(shapes.get('blk.0.attn_kv_a_norm.weight'), [16]);
  assert.deepEqual(shapes.get('blk.0.attn_k_b.weight'), [8, 16, 4]);
  assert.deepEqual(shapes.get('blk.0.attn_v_b.weight'), [16, 8, 4]);
  assert.deepEqual(shapes.get('blk.0.attn_output.weight'), [32, 64]);
  assert.equal(shapes.has('blk.0.attn_q.weight'), false);
  assert.deepEqual(shapes.get('blk.0.ffn_gate.weight'), [64, 128], 'layer 0 is dense');
  assert.equal(shapes.has('blk.0.ffn_gate_exps.weight'), false);
  assert.deepEqual(shapes.get('blk.1.exp_probs_b.bias'), [4]);
  assert.deepEqual(shapes.get('blk.1.ffn_gate_shexp.weight'), [64, 16]);
  // MiniCPM3 keeps kv_b whole.
  const { n_routed_experts: _dropped, ...dense } = config;
  const mini = implied({ ...dense, model_type: 'minicpm3' }).shapes;
  assert.deepEqual(mini.get('blk.0.attn_kv_b.weight'), [16, 4 * (8 + 8)]);
});

test('Mamba-2 (Nemotron-H): one mixer per layer, SSM tensors in GGUF shapes', () => {
  const config = {
    ...LLAMA,
    model_type: 'nemotron_h',
    num_hidden_layers: 3,
    hybrid_override_pattern: 'M*-',
    mamba_num_heads: 4,
    mamba_head_dim: 16,
    n_groups: 2,
    ssm_state_size: 8,
    conv_kernel: 4,
    use_conv_bias: true,
    mlp_hidden_act: 'relu2',
  };
  const { shapes } = implied(config);
  const inner = 64;
  assert.deepEqual(shapes.get('blk.0.ssm_in.weight'), [64, 2 * inner + 2 * 2 * 8 + 4]);
  assert.deepEqual(shapes.get('blk.0.ssm_conv1d.weight'), [4, inner + 2 * 2 * 8]);
  assert.deepEqual(shapes.get('blk.0.ssm_conv1d.bias'), [inner + 32]);
  assert.deepEqual(shapes.get('blk.0.ssm_a'), [1, 4]);
  assert.deepEqual(shapes.get('blk.0.ssm_d'), [1, 4]);
  assert.deepEqual(shapes.get('blk.0.ssm_dt.bias'), [4]);
  assert.deepEqual(shapes.get('blk.0.ssm_norm.weight'), [32, 2]);
  assert.deepEqual(shapes.get('blk.0.ssm_out.weight'), [inner, 64]);
  assert.equal(shapes.has('blk.0.ffn_up.weight'), false, 'a Mamba layer has no FFN');
  assert.deepEqual(shapes.get('blk.1.attn_q.weight'), [64, 64]);
  assert.deepEqual(shapes.get('blk.2.ffn_up.weight'), [64, 128]);
  assert.equal(shapes.has('blk.2.ffn_gate.weight'), false, 'relu2 MLPs are not gated');
  assert.equal(shapes.has('blk.2.ffn_norm.weight'), false, 'one norm per layer');
  assert.deepEqual(shapes.get('blk.2.attn_norm.weight'), [64]);
});

test('Gated DeltaNet (Qwen3.5) and gated full attention', () => {
  const config = {
    ...LLAMA,
    model_type: 'qwen3_5_text',
    layer_types: ['linear_attention', 'full_attention'],
    head_dim: 16,
    linear_num_key_heads: 2,
    linear_key_head_dim: 8,
    linear_num_value_heads: 4,
    linear_value_head_dim: 8,
    linear_conv_kernel_dim: 4,
  };
  const { shapes } = implied(config);
  assert.deepEqual(shapes.get('blk.0.attn_qkv.weight'), [64, 2 * 16 + 32]);
  assert.deepEqual(shapes.get('blk.0.attn_gate.weight'), [64, 32]);
  assert.deepEqual(shapes.get('blk.0.ssm_conv1d.weight'), [4, 64]);
  assert.deepEqual(shapes.get('blk.0.ssm_beta.weight'), [64, 4]);
  assert.deepEqual(shapes.get('blk.0.ssm_alpha.weight'), [64, 4]);
  assert.deepEqual(shapes.get('blk.0.ssm_a'), [4]);
  assert.deepEqual(shapes.get('blk.0.ssm_norm.weight'), [8]);
  assert.deepEqual(shapes.get('blk.0.ssm_out.weight'), [32, 64]);
  assert.deepEqual(shapes.get('blk.1.attn_q.weight'), [64, 2 * 64], 'query and output gate');
  assert.deepEqual(shapes.get('blk.1.attn_q_norm.weight'), [16]);
  assert.deepEqual(shapes.get('blk.1.post_attention_norm.weight'), [64]);
});

test('GPT-2: fused QKV with bias, learned positions, LayerNorm biases', () => {
  const { shapes } = implied({ model_type: 'gpt2', n_embd: 64, n_layer: 1, n_head: 4, n_positions: 32, vocab_size: 100 });
  assert.deepEqual(shapes.get('position_embd.weight'), [64, 32]);
  assert.deepEqual(shapes.get('blk.0.attn_qkv.weight'), [64, 192]);
  assert.deepEqual(shapes.get('blk.0.attn_qkv.bias'), [192]);
  assert.deepEqual(shapes.get('blk.0.attn_norm.bias'), [64]);
  assert.deepEqual(shapes.get('blk.0.ffn_up.weight'), [64, 256]);
  assert.deepEqual(shapes.get('output_norm.bias'), [64]);
  assert.equal(shapes.has('output.weight'), false);
});

test('generated rope tables are listed but are not parameters', () => {
  const config = { ...LLAMA, rope_scaling: { rope_type: 'llama3', factor: 8 } };
  const { tensors } = implied(config);
  const freqs = tensors.find((t) => t.name === 'rope_freqs.weight');
  assert.deepEqual(freqs?.shape, [8]);
  assert.equal(freqs?.notParameter, true);
  assert.equal(detectFromConfig(config, 't').parameters.total, detectFromConfig(LLAMA, 't').parameters.total);
});

test('every fixture config: the parameter count is the sum over its implied tensors', (t) => {
  const dir = sharedAsset(t, 'fixtures/configs');
  if (!dir) return;
  const labels = JSON.parse(readFileSync(path.join(dir, 'labels.json'), 'utf8')) as Array<{ file: string; error?: boolean }>;
  for (const { file, error } of labels) {
    if (error) continue;
    const config = parseConfigJson(readFileSync(path.join(dir, file), 'utf8'));
    const info = detectFromConfig(config, file);
    const tensors = impliedTensors(info, config);
    const sum = tensors.filter((x) => !x.notParameter).reduce((n, x) => n + x.shape.reduce((a, b) => a * b, 1), 0);
    assert.equal(sum, info.parameters.total, file);
    assert.equal(new Set(tensors.map((x) => x.name)).size, tensors.length, `${file}: unique names`);
    assert.ok(
      tensors.every((x) => /^(blk\.\d+\.)?[a-z_0-9.]+$/.test(x.name) && x.shape.every((d) => Number.isInteger(d) && d > 0)),
      file,
    );
  }
});

test('the stories260K config implies exactly the tensors of its GGUF', async (t) => {
  const hf = sharedAsset(t, 'models/stories260K-hf/config.json');
  const gguf = sharedAsset(t, 'models/stories260K-gguf/stories260K.gguf');
  if (!hf || !gguf) return;
  // The GGUF was written with its own output matrix; the HF copy ties it.
  const config = { ...parseConfigJson(readFileSync(hf, 'utf8')), tie_word_embeddings: false };
  const file = await readGgufHeader(gguf);
  assert.deepEqual(sorted(implied(config).tensors), sorted(file.tensors.map((x) => ({ name: x.name, shape: [...x.shape], hfName: null }))));
});
