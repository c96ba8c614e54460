import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planQuantization } from '../../../src/core/plan/plan';
import { formatPlan, formatPlanSummary } from '../../../src/core/plan/format';
import { tensorTypeOverrides } from '../../../src/core/plan/quantize-overrides';
import { ggmlType, type GgmlTypeName } from '../../../src/core/formats/ggml-types';
import { UsageError } from '../../../src/core/errors';
import { PLAN_TARGETS, type QuantPlan } from '../../../src/core/plan/types';
import { alternatingModel, hybridModel, llamaArch, llamaTensors, mlaModel, type LlamaShape } from '../../fixtures/tensor-lists';

const bits = (type: GgmlTypeName) => (ggmlType(type).typeSize * 8) / ggmlType(type).blockSize;
const byName = (plan: QuantPlan) => new Map(plan.tensors.map((t) => [t.name, t]));
const DENSE_GQA: LlamaShape = { layers: 16, hidden: 512, ffn: 1536, heads: 8, kvHeads: 2, vocab: 1024 };
const MOE: LlamaShape = { layers: 8, hidden: 512, ffn: 512, heads: 8, kvHeads: 2, vocab: 1024, experts: 8, expertsPerToken: 2 };

function plans(arch: ReturnType<typeof llamaArch>, tensors: ReturnType<typeof llamaTensors>) {
  return PLAN_TARGETS.map((target) => ({
    target,
    naive: planQuantization(arch, tensors, { target, strategy: 'naive' }),
    pajamas: planQuantization(arch, tensors, { target, strategy: 'pajamas' }),
  }));
}

test('every plan has a type and a reason for every tensor, and pajamas stays within the stock size', () => {
  const cases = [
    { arch: llamaArch(DENSE_GQA), tensors: llamaTensors(DENSE_GQA) },
    { arch: llamaArch(MOE), tensors: llamaTensors(MOE) },
    mlaModel(),
    hybridModel(),
    alternatingModel(),
  ];
  for (const { arch, tensors } of cases) {
    for (const { target, naive, pajamas } of plans(arch, tensors)) {
      assert.equal(pajamas.tensors.length, tensors.length);
      for (const t of [...naive.tensors, ...pajamas.tensors]) assert.ok(t.reason.length > 5, `${t.name} has a reason`);
      assert.ok(
        pajamas.totals.sizeBytes <= pajamas.totals.stockSizeBytes,
        `${arch.modelType} ${target}: ${pajamas.totals.sizeBytes} <= ${pajamas.totals.stockSizeBytes}`,
      );
      assert.equal(naive.totals.sizeBytes, naive.totals.stockSizeBytes);
      for (const t of naive.tensors) assert.equal(t.ggufType, t.stockType, `naive ${t.name}`);
    }
  }
});

test('dense GQA: key/value projections get at least the bits of the query projection, and more than stock somewhere', () => {
  const plan = planQuantization(llamaArch(DENSE_GQA), llamaTensors(DENSE_GQA), { target: 'Q4_K_M', strategy: 'pajamas' });
  const t = byName(plan);
  let raised = 0;
  for (let i = 0; i < DENSE_GQA.layers; i++) {
    const q = t.get(`blk.${i}.attn_q.weight`)!;
    for (const kv of ['attn_k', 'attn_v']) {
      const x = t.get(`blk.${i}.${kv}.weight`)!;
      assert.ok(bits(x.ggufType) >= bits(q.ggufType), `layer ${i} ${kv} ${x.ggufType} vs attn_q ${q.ggufType}`);
      assert.match(x.reason, /GQA 4:1 makes it 4x smaller than the query projection/);
      if (bits(x.ggufType) > bits(x.stockType)) raised++;
    }
    assert.equal(t.get(`blk.${i}.attn_norm.weight`)!.ggufType, 'F32');
  }
  assert.ok(raised > 0, 'some K/V projection gets more bits than stock');
  assert.ok(bits(t.get('output.weight')!.ggufType) >= bits('Q6_K'), 'the output head keeps at least Q6_K');
  assert.ok(t.get('output.weight')!.mlx!.bits >= 6, 'MLX output head: at least 6 bits');
  assert.ok(t.get('token_embd.weight')!.mlx!.bits >= 6, 'MLX embeddings: at least 6 bits');
  assert.equal(t.get('blk.7.ffn_up.weight')!.mlx?.bits, 4);
});

test('MoE: routers stay F32 (8-bit in MLX), routed experts get no more bits than attention', () => {
  const plan = planQuantization(llamaArch(MOE), llamaTensors(MOE), { target: 'Q4_K_M', strategy: 'pajamas' });
  const t = byName(plan);
  for (let i = 0; i < MOE.layers; i++) {
    const router = t.get(`blk.${i}.ffn_gate_inp.weight`)!;
    assert.equal(router.ggufType, 'F32');
    assert.equal(router.mlx?.bits, 8);
    assert.match(router.reason, /router/);
    const expertBits = bits(t.get(`blk.${i}.ffn_up_exps.weight`)!.ggufType);
    for (const a of ['attn_q', 'attn_k', 'attn_v', 'attn_output']) {
      assert.ok(bits(t.get(`blk.${i}.${a}.weight`)!.ggufType) >= expertBits, `layer ${i} ${a} vs routed experts`);
    }
    assert.match(t.get(`blk.${i}.ffn_up_exps.weight`)!.reason, /8 stacked experts \(a token uses 2\)/);
  }
  const naive = planQuantization(llamaArch(MOE), llamaTensors(MOE), { target: 'Q4_K_M', strategy: 'naive', mlxBits: 4 });
  assert.equal(byName(naive).get('blk.0.ffn_gate_inp.weight')!.mlx?.bits, 4, 'naive MLX: one width everywhere');
});

test('MLA: the latent key/value projection gets the most bits of the attention block', () => {
  const { arch, tensors } = mlaModel();
  const plan = planQuantization(arch, tensors, { target: 'Q4_K_M', strategy: 'pajamas' });
  const t = byName(plan);
  for (let i = 0; i < 4; i++) {
    const kvA = bits(t.get(`blk.${i}.attn_kv_a_mqa.weight`)!.ggufType);
    for (const other of ['attn_q_b', 'attn_kv_b', 'attn_output']) {
      assert.ok(kvA >= bits(t.get(`blk.${i}.${other}.weight`)!.ggufType), `layer ${i}: attn_kv_a_mqa vs ${other}`);
    }
    assert.match(t.get(`blk.${i}.attn_kv_a_mqa.weight`)!.reason, /MLA latent key\/value/);
  }
  // shared experts serve every token: at least the bits of routed experts
  assert.ok(bits(t.get('blk.2.ffn_down_shexp.weight')!.ggufType) >= bits(t.get('blk.2.ffn_down_exps.weight')!.ggufType));
});

test('hybrid: the few attention layers get at least the bits of the SSM projections; conv1d stays F32', () => {
  const { arch, tensors } = hybridModel();
  const plan = planQuantization(arch, tensors, { target: 'Q4_K_M', strategy: 'pajamas' });
  const t = byName(plan);
  const attnV = bits(t.get('blk.3.attn_v.weight')!.ggufType);
  assert.ok(attnV >= bits(t.get('blk.2.ssm_in.weight')!.ggufType));
  assert.match(t.get('blk.3.attn_v.weight')!.reason, /softmax-attention layers of a hybrid/);
  assert.match(t.get('blk.2.ssm_out.weight')!.reason, /carried forward through the sequence/);
  assert.equal(t.get('blk.0.ssm_conv1d.weight')!.ggufType, 'F32');
  assert.equal(t.get('blk.0.ssm_a')!.ggufType, 'F32');
});

test('alternating attention: global layers get at least the bits of sliding-window layers', () => {
  const { arch, tensors } = alternatingModel();
  const plan = planQuantization(arch, tensors, { target: 'Q4_K_M', strategy: 'pajamas' });
  const t = byName(plan);
  for (let i = 2; i < 6; i += 2) {
    for (const a of ['attn_q', 'attn_k', 'attn_v', 'attn_output']) {
      const sliding = bits(t.get(`blk.${i}.${a}.weight`)!.ggufType);
      const global = bits(t.get(`blk.${i + 1}.${a}.weight`)!.ggufType);
      assert.ok(global >= sliding, `${a}: global layer ${i + 1} vs sliding layer ${i}`);
    }
    assert.match(t.get(`blk.${i + 1}.attn_q.weight`)!.reason, /global-attention layer/);
  }
  // tied embeddings: token_embd is also the output head
  assert.match(t.get('token_embd.weight')!.reason, /tied: the output head and the embedding at once/);
});

test('MLX options: widths and group sizes are checked; rows that do not split into groups stay unquantized', () => {
  const shape: LlamaShape = { layers: 2, hidden: 96, ffn: 256, heads: 4, kvHeads: 4, vocab: 64 };
  assert.throws(
    () => planQuantization(llamaArch(shape), llamaTensors(shape), { target: 'Q4_K_M', strategy: 'naive', mlxBits: 7 }),
    UsageError,
  );
  assert.throws(
    () => planQuantization(llamaArch(shape), llamaTensors(shape), { target: 'Q4_K_M', strategy: 'naive', mlxGroupSize: 48 }),
    UsageError,
  );
  const plan = planQuantization(llamaArch(shape), llamaTensors(shape), {
    target: 'Q4_K_M',
    strategy: 'naive',
    mlxBits: 3,
    mlxGroupSize: 64,
  });
  const t = byName(plan);
  assert.equal(t.get('blk.0.attn_q.weight')!.mlx, null, 'rows of 96 do not split into groups of 64');
  assert.deepEqual(t.get('blk.0.ffn_down.weight')!.mlx, { bits: 3, groupSize: 64 });
  assert.equal(t.get('blk.0.attn_norm.weight')!.mlx, null);
});

test('overrides name every quantizable tensor once, folded per kind and type', () => {
  const plan = planQuantization(llamaArch(DENSE_GQA), llamaTensors(DENSE_GQA), { target: 'Q4_K_M', strategy: 'pajamas' });
  const lines = tensorTypeOverrides(plan);
  const quantizable = plan.tensors.filter((t) => !t.name.endsWith('_norm.weight'));
  for (const t of quantizable) {
    const matching = lines.filter((l) => new RegExp(l.slice(0, l.lastIndexOf('='))).test(t.name));
    assert.equal(matching.length, 1, `${t.name} matched by exactly one pattern`);
    assert.equal(matching[0]!.slice(matching[0]!.lastIndexOf('=') + 1), t.ggufType.toLowerCase());
  }
  assert.ok(lines.length < quantizable.length / 3, 'patterns are folded over layers');
});

test('the text renderings show the types, the stock comparison and the totals', () => {
  const plan = planQuantization(llamaArch(DENSE_GQA), llamaTensors(DENSE_GQA), { target: 'Q4_K_M', strategy: 'pajamas' });
  const text = formatPlan(plan);
  assert.match(text, /outside the blocks:/);
  assert.match(text, /layers? \d+/);
  assert.match(text, /stock Q4_K_M: [\d.]+ MiB/);
  const summary = formatPlanSummary(plan);
  assert.match(summary, /Plan \(pajamas, Q4_K_M\): \d+ tensors/);
  assert.match(summary, /Versus stock: \d+ tensor\(s\) get more bits/);
});

test('measured gains replace the priors for their kinds, and the reasons say so', () => {
  const arch = llamaArch(DENSE_GQA);
  const tensors = llamaTensors(DENSE_GQA);
  const prior = byName(planQuantization(arch, tensors, { target: 'Q4_K_M', strategy: 'pajamas' }));
  const measured = planQuantization(arch, tensors, {
    target: 'Q4_K_M',
    strategy: 'pajamas',
    gains: { ffn_up: 1000, token_embd: 0.001, output: 0.001 },
  });
  const t = byName(measured);
  assert.ok(
    bits(t.get('blk.8.ffn_up.weight')!.ggufType) > bits(prior.get('blk.8.ffn_up.weight')!.ggufType),
    'a high measured gain raises ffn_up',
  );
  assert.ok(
    bits(t.get('token_embd.weight')!.ggufType) < bits(prior.get('token_embd.weight')!.ggufType),
    'a low measured gain lowers the embedding',
  );
  assert.match(t.get('blk.8.ffn_up.weight')!.reason, /measured gain 1000 on calibration text/);
  assert.ok(measured.totals.sizeBytes <= measured.totals.stockSizeBytes);
});
