import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rowLengthFallback, stockTypes, useMoreBits, type StockModelInfo } from '../../../src/core/plan/stock';
import { intermediateType } from '../../../src/core/plan/intermediate-type';
import { llamaTensors, type LlamaShape } from '../../fixtures/tensor-lists';
import type { PlanTarget } from '../../../src/core/plan/types';

function stock(shape: LlamaShape, target: PlanTarget, ggufArch = 'llama') {
  const info: StockModelInfo = {
    ggufArch,
    numLayers: shape.layers,
    numHeads: shape.heads,
    numKvHeads: shape.kvHeads,
    numExperts: shape.experts ?? 0,
  };
  const tensors = llamaTensors(shape).map((t) => ({ name: t.name, shape: t.shape, sourceType: intermediateType(t.name, t.shape, 'F16') }));
  const decisions = stockTypes(info, tensors, target);
  return (name: string) => decisions.get(name)!.type;
}

const LLAMA3_8B: LlamaShape = { layers: 32, hidden: 4096, ffn: 14336, heads: 32, kvHeads: 8, vocab: 128256 };
// llama.cpp's use_more_bits for 32 layers: the first and last 4, then every third from layer 6.
const MORE_BITS_32 = new Set([0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31]);

test('use_more_bits matches llama.cpp for 32 layers', () => {
  const got = new Set(Array.from({ length: 32 }, (_, i) => i).filter((i) => useMoreBits(i, 32)));
  assert.deepEqual(got, MORE_BITS_32);
});

test('stock Q4_K_M on a Llama-3-8B shape: attn_v and ffn_down get Q6_K in use_more_bits layers', () => {
  const type = stock(LLAMA3_8B, 'Q4_K_M');
  assert.equal(type('token_embd.weight'), 'Q4_K');
  assert.equal(type('output.weight'), 'Q6_K');
  assert.equal(type('output_norm.weight'), 'F32');
  for (let i = 0; i < 32; i++) {
    const more = MORE_BITS_32.has(i) ? 'Q6_K' : 'Q4_K';
    assert.equal(type(`blk.${i}.attn_v.weight`), more, `attn_v layer ${i}`);
    assert.equal(type(`blk.${i}.ffn_down.weight`), more, `ffn_down layer ${i}`);
    for (const n of ['attn_q', 'attn_k', 'attn_output', 'ffn_gate', 'ffn_up']) assert.equal(type(`blk.${i}.${n}.weight`), 'Q4_K');
    assert.equal(type(`blk.${i}.attn_norm.weight`), 'F32');
  }
});

test('stock Q5_K_M, Q6_K and Q8_0 on the same shape', () => {
  const q5 = stock(LLAMA3_8B, 'Q5_K_M');
  assert.equal(q5('blk.0.attn_v.weight'), 'Q6_K');
  assert.equal(q5('blk.4.attn_v.weight'), 'Q5_K');
  assert.equal(q5('blk.6.ffn_down.weight'), 'Q6_K');
  assert.equal(q5('blk.7.ffn_down.weight'), 'Q5_K');
  assert.equal(q5('output.weight'), 'Q6_K');
  const q6 = stock(LLAMA3_8B, 'Q6_K');
  assert.equal(q6('blk.7.attn_q.weight'), 'Q6_K');
  assert.equal(q6('output.weight'), 'Q6_K');
  const q8 = stock(LLAMA3_8B, 'Q8_0');
  assert.equal(q8('output.weight'), 'Q8_0');
  assert.equal(q8('token_embd.weight'), 'Q8_0');
  assert.equal(q8('blk.0.attn_v.weight'), 'Q8_0');
});

test('stock Q4_K_M on an 8-expert model: attn_k/attn_v Q8_0, attn_output Q5_K, ffn_down_exps by layer, router F32', () => {
  const shape: LlamaShape = { layers: 32, hidden: 4096, ffn: 14336, heads: 32, kvHeads: 8, vocab: 32000, experts: 8 };
  const type = stock(shape, 'Q4_K_M');
  for (let i = 0; i < 32; i++) {
    assert.equal(type(`blk.${i}.attn_v.weight`), 'Q8_0');
    assert.equal(type(`blk.${i}.attn_k.weight`), 'Q8_0');
    assert.equal(type(`blk.${i}.attn_output.weight`), 'Q5_K');
    assert.equal(type(`blk.${i}.ffn_down_exps.weight`), MORE_BITS_32.has(i) ? 'Q6_K' : 'Q4_K');
    assert.equal(type(`blk.${i}.ffn_up_exps.weight`), 'Q4_K');
    assert.equal(type(`blk.${i}.ffn_gate_inp.weight`), 'F32');
  }
});

test('the 8-expert rules do not fire for 16 experts; shared experts follow the ffn_down rule', () => {
  const shape: LlamaShape = { layers: 8, hidden: 2048, ffn: 768, heads: 16, kvHeads: 4, vocab: 32000, experts: 16, sharedFfn: 1024 };
  const type = stock(shape, 'Q4_K_M', 'qwen2moe');
  assert.equal(type('blk.3.attn_k.weight'), 'Q4_K');
  assert.equal(type('blk.3.attn_output.weight'), 'Q4_K');
  // 8 layers: use_more_bits = layer 0, layer 7, and (i-1)%3==2 -> 3, 6
  assert.equal(type('blk.3.attn_v.weight'), 'Q6_K');
  assert.equal(type('blk.4.attn_v.weight'), 'Q4_K');
  assert.equal(type('blk.3.ffn_down_exps.weight'), 'Q6_K');
  assert.equal(type('blk.3.ffn_down_shexp.weight'), 'Q6_K');
  assert.equal(type('blk.4.ffn_down_shexp.weight'), 'Q4_K');
  assert.equal(type('blk.4.ffn_gate_inp_shexp.weight'), 'F32');
});

test('tied embeddings take the output rule', () => {
  const shape: LlamaShape = { layers: 4, hidden: 512, ffn: 1024, heads: 8, kvHeads: 2, vocab: 1000, tied: true };
  assert.equal(stock(shape, 'Q4_K_M')('token_embd.weight'), 'Q6_K');
  assert.equal(stock(shape, 'Q8_0')('token_embd.weight'), 'Q8_0');
});

test('row-length fallbacks follow llama.cpp (stories260K: dim 64, ffn 172)', () => {
  assert.equal(rowLengthFallback('Q4_K', 64), 'Q5_0');
  assert.equal(rowLengthFallback('Q5_K', 64), 'Q5_1');
  assert.equal(rowLengthFallback('Q6_K', 64), 'Q8_0');
  assert.equal(rowLengthFallback('Q4_K', 172), 'F16');
  assert.equal(rowLengthFallback('Q8_0', 172), 'F16');
  assert.equal(rowLengthFallback('Q8_0', 64), 'Q8_0');
  assert.equal(rowLengthFallback('Q4_K', 512), 'Q4_K');

  // The measured llama-quantize --dry-run of stories260K.gguf at Q4_K_M (5 layers, untied):
  const shape: LlamaShape = { layers: 5, hidden: 64, ffn: 172, heads: 8, kvHeads: 4, vocab: 512 };
  const type = stock(shape, 'Q4_K_M');
  assert.equal(type('output.weight'), 'Q8_0');
  assert.equal(type('token_embd.weight'), 'Q5_0');
  assert.equal(type('blk.0.attn_v.weight'), 'Q5_0');
  assert.equal(type('blk.2.attn_v.weight'), 'Q8_0');
  assert.equal(type('blk.4.attn_v.weight'), 'Q8_0');
  assert.equal(type('blk.3.ffn_down.weight'), 'F16');
  assert.equal(type('blk.3.ffn_up.weight'), 'Q5_0');
});
