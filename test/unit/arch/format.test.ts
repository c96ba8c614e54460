import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatArchitecture, formatParameterCount } from '../../../src/core/arch/format';
import { detectFromConfig } from '../../../src/core/arch/from-config';

/** Qwen3-8B's config.json, the fields that matter. */
const QWEN3_8B = {
  architectures: ['Qwen3ForCausalLM'],
  head_dim: 128,
  hidden_size: 4096,
  intermediate_size: 12288,
  max_position_embeddings: 40960,
  model_type: 'qwen3',
  num_attention_heads: 32,
  num_hidden_layers: 36,
  num_key_value_heads: 8,
  sliding_window: null,
  tie_word_embeddings: false,
  use_sliding_window: false,
  vocab_size: 151936,
};

test('the issue example, line for line', () => {
  assert.equal(
    formatArchitecture(detectFromConfig(QWEN3_8B, 'Qwen/Qwen3-8B')),
    [
      'ArchitectureInfo(Qwen/Qwen3-8B)',
      '  Type: qwen3',
      '  Family: dense',
      '  Parameters: 8.2B',
      '  Attention: gqa',
      '  GQA Ratio: 4:1 (32 query, 8 KV)',
      '  Layers: 36',
      '  Context: 40960',
    ].join('\n'),
  );
});

test('MoE, MLA, sliding-window and hybrid lines appear when they apply', () => {
  const moe = formatArchitecture(
    detectFromConfig(
      {
        ...QWEN3_8B,
        model_type: 'qwen3_moe',
        num_experts: 128,
        num_experts_per_tok: 8,
        moe_intermediate_size: 768,
        num_key_value_heads: 32,
      },
      'm',
    ),
  );
  assert.match(moe, /Parameters: [\d.]+B \([\d.]+B active\)/);
  assert.match(moe, /MoE: 128 experts, 8 per token \(width 768\)/);
  assert.doesNotMatch(moe, /GQA Ratio/, 'no ratio line for MHA');

  const mla = formatArchitecture(
    detectFromConfig(
      { ...QWEN3_8B, kv_lora_rank: 512, q_lora_rank: 1536, qk_nope_head_dim: 128, qk_rope_head_dim: 64, v_head_dim: 128 },
      'm',
    ),
  );
  assert.match(mla, /Attention: mla\n {2}MLA: kv_lora 512, q_lora 1536, head dim 192 \(128 nope \+ 64 rope\), v 128/);

  const swa = formatArchitecture(
    detectFromConfig({ ...QWEN3_8B, model_type: 'gemma2', num_hidden_layers: 4, sliding_window: 4096, use_sliding_window: true }, 'g'),
  );
  assert.match(swa, /Layer mix: 2 sliding_attention, 2 full_attention/);
  assert.match(swa, /Sliding window: 4096 \(alternating\)/);

  const hybrid = formatArchitecture(
    detectFromConfig({ ...QWEN3_8B, model_type: 'qwen3_next', num_hidden_layers: 4, full_attention_interval: 4 }, 'h'),
  );
  assert.match(hybrid, /Family: hybrid\n/);
  assert.match(hybrid, /Layer mix: 3 linear_attention, 1 full_attention/);

  const warned = formatArchitecture(detectFromConfig({ ...QWEN3_8B, model_type: 'frobnicator' }, 'u'));
  assert.match(warned, /\n {2}Warning: unknown model_type "frobnicator"/);
});

test('parameter counts read like model cards', () => {
  assert.equal(formatParameterCount(8_190_735_360), '8.2B');
  assert.equal(formatParameterCount(671_026_419_200), '671B');
  assert.equal(formatParameterCount(46_702_792_704), '46.7B');
  assert.equal(formatParameterCount(1_026_408_232_448), '1.03T');
  assert.equal(formatParameterCount(4_787_456), '4.8M');
  assert.equal(formatParameterCount(260_032), '260K');
  assert.equal(formatParameterCount(999), '999');
});
