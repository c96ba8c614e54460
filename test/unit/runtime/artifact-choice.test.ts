import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type FitArtifact,
  type MemoryBudget,
  chooseArtifact,
  placementFor,
  rankByQuality,
} from '../../../src/core/runtime/artifact-choice';
import { estimateMemory, maxContextThatFits } from '../../../src/core/runtime/memory-fit';
import { llamaArch } from '../../fixtures/tensor-lists';

const GiB = 2 ** 30;
// Llama-3-8B shape: 128 KiB of KV cache per token, 1 GiB at 8192 tokens.
const arch = llamaArch({ layers: 32, hidden: 4096, heads: 32, kvHeads: 8, ffn: 14336, vocab: 128256 }, { contextLength: 8192 });

const artifact = (id: string, gib: number, bpw: number, kldMean: number | null, gatePassed: boolean | null = null): FitArtifact => ({
  id,
  format: 'gguf',
  sizeBytes: gib * GiB,
  bpw,
  kldMean,
  gatePassed,
});
const q8 = artifact('m-Q8_0', 7.95, 8.5, 0.0014);
const q6 = artifact('m-Q6_K', 6.14, 6.56, 0.0055);
const q5 = artifact('m-Q5_K_M', 5.33, 5.69, 0.0108);
const q4 = artifact('m-Q4_K_M', 4.58, 4.89, 0.0313);
const all = [q4, q8, q5, q6];
const ram = (gib: number): MemoryBudget => ({ ramBytes: gib * GiB, vramBytes: 0, unified: false });
const ids = (list: readonly FitArtifact[]) => list.map((a) => a.id);

describe('rankByQuality', () => {
  it('orders by mean KL divergence when every artifact was measured', () => {
    assert.deepEqual(ids(rankByQuality(all)), ['m-Q8_0', 'm-Q6_K', 'm-Q5_K_M', 'm-Q4_K_M']);
  });

  it('orders by bits per weight when some artifact has no KLD', () => {
    const unmeasured = { ...q5, kldMean: null };
    // By KLD alone the unmeasured one could not be placed; bpw puts it between Q6_K and Q4_K_M.
    assert.deepEqual(ids(rankByQuality([q4, unmeasured, q8, q6])), ['m-Q8_0', 'm-Q6_K', 'm-Q5_K_M', 'm-Q4_K_M']);
  });

  it('puts artifacts that failed their quality gate last', () => {
    const failed = { ...q8, gatePassed: false };
    assert.deepEqual(ids(rankByQuality([failed, q4, q6])), ['m-Q6_K', 'm-Q4_K_M', 'm-Q8_0']);
  });

  it('breaks KLD ties by bits per weight', () => {
    const a = artifact('a', 4, 4.5, 0.01);
    const b = artifact('b', 5, 5.5, 0.01);
    assert.deepEqual(ids(rankByQuality([a, b])), ['b', 'a']);
  });
});

describe('placementFor', () => {
  const table: { budget: MemoryBudget; total: number; expected: string | null }[] = [
    { budget: ram(16), total: 8 * GiB, expected: 'cpu' },
    { budget: ram(16), total: 17 * GiB, expected: null },
    { budget: { ramBytes: 16 * GiB, vramBytes: 8 * GiB, unified: false }, total: 6 * GiB, expected: 'gpu' },
    { budget: { ramBytes: 16 * GiB, vramBytes: 8 * GiB, unified: false }, total: 12 * GiB, expected: 'split' },
    { budget: { ramBytes: 16 * GiB, vramBytes: 8 * GiB, unified: false }, total: 25 * GiB, expected: null },
    // Apple Silicon: VRAM is the same memory as RAM, not extra.
    { budget: { ramBytes: 16 * GiB, vramBytes: 12 * GiB, unified: true }, total: 15 * GiB, expected: 'gpu' },
    { budget: { ramBytes: 16 * GiB, vramBytes: 12 * GiB, unified: true }, total: 20 * GiB, expected: null },
  ];
  for (const [i, c] of table.entries()) {
    it(`case ${i}: ${c.total / GiB} GiB -> ${c.expected}`, () => assert.equal(placementFor(c.total, c.budget), c.expected));
  }
});

describe('chooseArtifact', () => {
  it('picks the best quality that fits and names the better ones that did not', () => {
    const choice = chooseArtifact(all, arch, ram(8), { contextSize: 8192 });
    // Q8_0 needs ~9.2 GiB with 1 GiB of KV cache; Q6_K ~7.4 GiB fits in 8.
    assert.equal(choice.chosen?.artifact.id, 'm-Q6_K');
    assert.equal(choice.chosen?.placement, 'cpu');
    assert.equal(choice.forced, false);
    assert.match(choice.explanation, /^m-Q6_K \(6\.56 bpw, KLD 0\.0055\) needs 7\.\d\d GiB/);
    assert.match(choice.explanation, /Better but too big: m-Q8_0 \(9\.\d\d GiB\)/);
  });

  it('takes the best when memory is plentiful', () => {
    assert.equal(chooseArtifact(all, arch, ram(64), { contextSize: 8192 }).chosen?.artifact.id, 'm-Q8_0');
  });

  it('a longer context can push the choice to a smaller artifact', () => {
    const budget = ram(7);
    assert.equal(chooseArtifact(all, arch, budget, { contextSize: 2048 }).chosen?.artifact.id, 'm-Q6_K');
    assert.equal(chooseArtifact(all, arch, budget, { contextSize: 8192 }).chosen?.artifact.id, 'm-Q5_K_M');
  });

  it('splits between GPU and CPU when VRAM is short but RAM makes up for it', () => {
    const budget: MemoryBudget = { ramBytes: 8 * GiB, vramBytes: 6 * GiB, unified: false };
    const choice = chooseArtifact(all, arch, budget, { contextSize: 8192 });
    assert.equal(choice.chosen?.artifact.id, 'm-Q8_0');
    assert.equal(choice.chosen?.placement, 'split');
    assert.match(choice.explanation, /split between GPU and CPU/);
  });

  it('when nothing fits, lists every need and the context with which the best one would fit', () => {
    const budget = ram(5);
    const choice = chooseArtifact(all, arch, budget, { contextSize: 8192 });
    assert.equal(choice.chosen, null);
    assert.match(choice.explanation, /^No artifact fits in 5\.00 GiB free RAM \(no GPU\) with a 8192-token context:/);
    for (const a of all) assert.match(choice.explanation, new RegExp(`${a.id}: needs \\d+\\.\\d\\d GiB \\(weights`));
    // Only Q4_K_M fits at all (4.58 GiB of weights), with a shorter context.
    const ctx = maxContextThatFits(arch, q4.sizeBytes, budget.ramBytes);
    assert.ok(ctx > 0 && ctx < 8192);
    assert.ok(estimateMemory(arch, q4.sizeBytes, { contextSize: ctx }).totalBytes <= budget.ramBytes);
    assert.match(choice.explanation, new RegExp(`m-Q4_K_M fits with a context of at most ${ctx} tokens \\(--context-size ${ctx}\\)`));
  });

  it('when not even the smallest fits, says how much memory is missing', () => {
    const choice = chooseArtifact(all, arch, ram(3), { contextSize: 4096 });
    assert.equal(choice.chosen, null);
    assert.match(choice.explanation, /Even the smallest, m-Q4_K_M, needs \d+\.\d\d GiB more than is free/);
  });

  it('a named artifact is chosen even when it does not fit', () => {
    const choice = chooseArtifact(all, arch, ram(5), { contextSize: 8192, artifactId: 'm-Q8_0' });
    assert.equal(choice.forced, true);
    assert.equal(choice.chosen?.artifact.id, 'm-Q8_0');
    assert.equal(choice.chosen?.placement, null);
    assert.match(choice.explanation, /chosen by name; it may not fit/);
  });

  it('an unknown artifact name is reported with the ones that exist', () => {
    const choice = chooseArtifact(all, arch, ram(64), { contextSize: 8192, artifactId: 'nope' });
    assert.equal(choice.chosen, null);
    assert.match(choice.explanation, /no artifact "nope"; the manifest has m-Q4_K_M, m-Q8_0, m-Q5_K_M, m-Q6_K/);
  });

  it('no candidates at all', () => {
    const choice = chooseArtifact([], arch, ram(64), { contextSize: 8192 });
    assert.equal(choice.chosen, null);
    assert.match(choice.explanation, /lists no artifact this backend can run/);
  });
});
