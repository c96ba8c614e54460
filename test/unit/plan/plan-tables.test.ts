/**
 * Exact per-tensor tables of the pajamas plan at Q4_K_M for four small fixture models, next to
 * llama.cpp's stock recipe for the same tensors (itself proven against `llama-quantize --dry-run`
 * in test/integration/plan/dry-run.test.ts). Each row is one tensor name, by layer. A change in
 * any tensor's type fails here and must be argued for in the commit that updates the table.
 *
 * What the tables show, and why it is right:
 * - dense GQA 4:1: K/V projections are a quarter of Q's size, so Q5_K/Q6_K on them costs little;
 *   the untied embedding gets Q6_K (it feeds every layer); the down projections pay (Q4_K).
 * - 8-expert MoE: the stacked experts are 8x a dense layer, so attention takes the bits; the stock
 *   recipe's Q8_0 K/V is already high.
 * - tied embeddings, rows of 256: the tied embedding is the output head, never below stock's Q6_K.
 * - tied, rows of 128 (do not split into 256): every k-quant wanted on those rows becomes the
 *   legacy type llama.cpp falls back to (Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0); the tied
 *   embedding keeps stock's Q8_0; ffn_down (rows of 512) keeps k-quants.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planQuantization } from '../../../src/core/plan/plan';
import { tensorTypeOverrides } from '../../../src/core/plan/quantize-overrides';
import { ggmlType, type GgmlTypeName } from '../../../src/core/formats/ggml-types';
import type { QuantPlan } from '../../../src/core/plan/types';
import { llamaArch, llamaTensors, type LlamaShape } from '../../fixtures/tensor-lists';

type Table = Record<string, string>;

/** name (without "blk.N.") -> space-separated types by layer; norms and routers are listed apart. */
function table(plan: QuantPlan, pick: 'ggufType' | 'stockType'): Table {
  const rows: Record<string, string[]> = {};
  for (const t of plan.tensors) {
    const key = t.layer === null ? t.name : t.name.slice(`blk.${t.layer}.`.length);
    (rows[key] ??= []).push(t[pick]);
  }
  return Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, v.join(' ')]));
}

interface Case {
  label: string;
  shape: LlamaShape;
  stock: Table;
  pajamas: Table;
}

const NORMS = { 'attn_norm.weight': 'F32 F32 F32 F32', 'ffn_norm.weight': 'F32 F32 F32 F32', 'output_norm.weight': 'F32' };

const CASES: Case[] = [
  {
    label: 'dense GQA 4:1',
    shape: { layers: 4, hidden: 256, ffn: 512, heads: 8, kvHeads: 2, vocab: 512 },
    stock: {
      ...NORMS,
      'token_embd.weight': 'Q4_K',
      'output.weight': 'Q6_K',
      'attn_q.weight': 'Q4_K Q4_K Q4_K Q4_K',
      'attn_k.weight': 'Q4_K Q4_K Q4_K Q4_K',
      'attn_v.weight': 'Q4_K Q4_K Q6_K Q6_K',
      'attn_output.weight': 'Q4_K Q4_K Q4_K Q4_K',
      'ffn_gate.weight': 'Q4_K Q4_K Q4_K Q4_K',
      'ffn_up.weight': 'Q4_K Q4_K Q4_K Q4_K',
      'ffn_down.weight': 'Q4_K Q4_K Q6_K Q6_K',
    },
    pajamas: {
      ...NORMS,
      'token_embd.weight': 'Q6_K',
      'output.weight': 'Q6_K',
      'attn_q.weight': 'Q4_K Q4_K Q4_K Q4_K',
      'attn_k.weight': 'Q5_K Q5_K Q5_K Q5_K',
      'attn_v.weight': 'Q6_K Q6_K Q6_K Q6_K',
      'attn_output.weight': 'Q5_K Q4_K Q4_K Q5_K',
      'ffn_gate.weight': 'Q4_K Q4_K Q4_K Q4_K',
      'ffn_up.weight': 'Q4_K Q4_K Q4_K Q4_K',
      'ffn_down.weight': 'Q4_K Q4_K Q4_K Q4_K',
    },
  },
  {
    label: 'MoE, 8 experts (top-2)',
    shape: { layers: 4, hidden: 256, ffn: 256, heads: 8, kvHeads: 2, vocab: 512, experts: 8, expertsPerToken: 2 },
    stock: {
      ...NORMS,
      'token_embd.weight': 'Q4_K',
      'output.weight': 'Q6_K',
      'ffn_gate_inp.weight': 'F32 F32 F32 F32',
      'attn_q.weight': 'Q4_K Q4_K Q4_K Q4_K',
      'attn_k.weight': 'Q8_0 Q8_0 Q8_0 Q8_0',
      'attn_v.weight': 'Q8_0 Q8_0 Q8_0 Q8_0',
      'attn_output.weight': 'Q5_K Q5_K Q5_K Q5_K',
      'ffn_gate_exps.weight': 'Q4_K Q4_K Q4_K Q4_K',
      'ffn_up_exps.weight': 'Q4_K Q4_K Q4_K Q4_K',
      'ffn_down_exps.weight': 'Q4_K Q4_K Q6_K Q6_K',
    },
    pajamas: {
      ...NORMS,
      'token_embd.weight': 'Q8_0',
      'output.weight': 'Q6_K',
      'ffn_gate_inp.weight': 'F32 F32 F32 F32',
      'attn_q.weight': 'Q6_K Q5_K Q5_K Q6_K',
      'attn_k.weight': 'Q8_0 Q6_K Q6_K Q6_K',
      'attn_v.weight': 'Q8_0 Q8_0 Q8_0 Q8_0',
      'attn_output.weight': 'Q6_K Q6_K Q6_K Q6_K',
      'ffn_gate_exps.weight': 'Q4_K Q4_K Q4_K Q4_K',
      'ffn_up_exps.weight': 'Q4_K Q4_K Q4_K Q4_K',
      'ffn_down_exps.weight': 'Q5_K Q4_K Q4_K Q5_K',
    },
  },
  {
    label: 'tied embeddings, rows of 256',
    shape: { layers: 4, hidden: 256, ffn: 768, heads: 4, kvHeads: 4, vocab: 4096, tied: true },
    stock: {
      ...NORMS,
      'token_embd.weight': 'Q6_K',
      'attn_q.weight': 'Q4_K Q4_K Q4_K Q4_K',
      'attn_k.weight': 'Q4_K Q4_K Q4_K Q4_K',
      'attn_v.weight': 'Q4_K Q4_K Q6_K Q6_K',
      'attn_output.weight': 'Q4_K Q4_K Q4_K Q4_K',
      'ffn_gate.weight': 'Q4_K Q4_K Q4_K Q4_K',
      'ffn_up.weight': 'Q4_K Q4_K Q4_K Q4_K',
      'ffn_down.weight': 'Q4_K Q4_K Q6_K Q6_K',
    },
    pajamas: {
      ...NORMS,
      'token_embd.weight': 'Q6_K',
      'attn_q.weight': 'Q4_K Q4_K Q4_K Q4_K',
      'attn_k.weight': 'Q5_K Q4_K Q4_K Q5_K',
      'attn_v.weight': 'Q5_K Q5_K Q5_K Q5_K',
      'attn_output.weight': 'Q5_K Q5_K Q5_K Q5_K',
      'ffn_gate.weight': 'Q4_K Q4_K Q4_K Q4_K',
      'ffn_up.weight': 'Q4_K Q4_K Q4_K Q4_K',
      'ffn_down.weight': 'Q5_K Q4_K Q4_K Q5_K',
    },
  },
  {
    label: 'tied, vocabulary 16x the width, rows of 128',
    shape: { layers: 4, hidden: 128, ffn: 512, heads: 2, kvHeads: 1, vocab: 2048, tied: true },
    stock: {
      ...NORMS,
      'token_embd.weight': 'Q8_0',
      'attn_q.weight': 'Q5_0 Q5_0 Q5_0 Q5_0',
      'attn_k.weight': 'Q5_0 Q5_0 Q5_0 Q5_0',
      'attn_v.weight': 'Q5_0 Q5_0 Q8_0 Q8_0',
      'attn_output.weight': 'Q5_0 Q5_0 Q5_0 Q5_0',
      'ffn_gate.weight': 'Q5_0 Q5_0 Q5_0 Q5_0',
      'ffn_up.weight': 'Q5_0 Q5_0 Q5_0 Q5_0',
      'ffn_down.weight': 'Q4_K Q4_K Q6_K Q6_K',
    },
    pajamas: {
      ...NORMS,
      'token_embd.weight': 'Q8_0',
      'attn_q.weight': 'Q5_0 Q5_0 Q5_0 Q5_0',
      'attn_k.weight': 'Q5_1 Q5_1 Q5_1 Q5_1',
      'attn_v.weight': 'Q8_0 Q8_0 Q8_0 Q8_0',
      'attn_output.weight': 'Q8_0 Q5_1 Q5_1 Q5_1',
      'ffn_gate.weight': 'Q5_0 Q5_0 Q5_0 Q5_0',
      'ffn_up.weight': 'Q5_0 Q5_0 Q5_0 Q5_0',
      'ffn_down.weight': 'Q5_K Q4_K Q4_K Q5_K',
    },
  },
];

for (const c of CASES) {
  test(`plan table, Q4_K_M: ${c.label}`, () => {
    const plan = planQuantization(llamaArch(c.shape), llamaTensors(c.shape), { target: 'Q4_K_M', strategy: 'pajamas' });
    assert.deepEqual(table(plan, 'stockType'), c.stock, 'stock recipe');
    assert.deepEqual(table(plan, 'ggufType'), c.pajamas, 'pajamas plan');
    assert.ok(plan.totals.sizeBytes <= plan.totals.stockSizeBytes, 'within the stock budget');
  });
}

test('the reasons name the roles: a tied embedding is the output head, floored at stock', () => {
  const tied = CASES[3]!.shape;
  const plan = planQuantization(llamaArch(tied), llamaTensors(tied), { target: 'Q4_K_M', strategy: 'pajamas' });
  const embd = plan.tensors.find((t) => t.name === 'token_embd.weight')!;
  assert.match(embd.reason, /tied: the output head and the embedding at once, their gains added \(gain 52\)/);
  assert.match(embd.reason, /never below stock's Q8_0 for the output head without a measured gain/);
  const q = plan.tensors.find((t) => t.name === 'blk.1.attn_k.weight')!;
  assert.deepEqual(q.fallback, { wanted: 'Q5_K', reason: 'rows of 128 do not split into Q5_K blocks; llama.cpp uses Q5_1' });
  const dense = CASES[0]!.shape;
  const untied = planQuantization(llamaArch(dense), llamaTensors(dense), { target: 'Q4_K_M', strategy: 'pajamas' });
  assert.match(untied.tensors.find((t) => t.name === 'token_embd.weight')!.reason, /the embedding feeds every layer \(gain 32\)/);
});

test('the tensor-type overrides name only types the rows can hold, and no embedding or output flags', () => {
  const shape = CASES[3]!.shape;
  const plan = planQuantization(llamaArch(shape), llamaTensors(shape), { target: 'Q4_K_M', strategy: 'pajamas' });
  const lines = tensorTypeOverrides(plan);
  for (const t of plan.tensors.filter((x) => x.kind !== 'norm')) {
    const line = lines.find((l) => new RegExp(l.slice(0, l.lastIndexOf('='))).test(t.name))!;
    const type = line.slice(line.lastIndexOf('=') + 1).toUpperCase() as GgmlTypeName;
    assert.equal(t.shape[0]! % ggmlType(type).blockSize, 0, `${t.name}: rows of ${t.shape[0]} hold ${type}`);
  }
  assert.ok(lines.includes('^token_embd\\.weight$=q8_0'), 'the tied embedding is named as Q8_0, the type llama.cpp really writes');
  assert.ok(
    lines.every((l) => !l.startsWith('--')),
    'no --token-embedding-type or --output-tensor-type',
  );
});
