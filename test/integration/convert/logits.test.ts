/**
 * For every supported architecture: a random-weight model built by the test, converted, and run
 * through llama.cpp must give the same next-token distribution as an independent forward pass of
 * the Hugging Face semantics (test/fixtures/models/reference-forward.ts) on 24 tokens.
 * "Finite logits" would prove nothing: a missed permutation, norm offset or expert order changes
 * the log-probabilities by O(1), while a faithful conversion agrees to float32 rounding.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { convertToGguf, type OutType } from '../../../src/core/convert';
import { logSoftmax, referenceLogits } from '../../fixtures/models/reference-forward';
import { TINY_ARCHS, buildTinyModel, type FixtureDtype, type TinyArch } from '../../fixtures/models/tiny-models';
import { llamaLogProbs, maxLogProbDiff } from './logits-harness';

const IDS = [...Array(24).keys()].map((i) => (i * 37 + 5) % 320);

/**
 * Largest log-probability difference allowed. F32 weights: float32 rounding (~1e-6 seen). ggml's
 * CPU GELU (Gemma) uses a float16 lookup table: ~2e-4 seen. F16 weights: llama.cpp also rounds
 * activations to f16 in matrix products (~2e-3 seen).
 */
function tolerance(arch: TinyArch, outType: OutType): number {
  if (outType !== 'f32') return 5e-3;
  return arch.startsWith('gemma') ? 1e-3 : 2e-5;
}

async function check(
  arch: TinyArch,
  dtype: FixtureDtype,
  outType: OutType,
  t: { after(fn: () => void): void; diagnostic(s: string): void },
  tokenizer?: 'spm' | 'bpe',
): Promise<void> {
  const model = buildTinyModel(arch, { dtype, seed: 7, tokenizer });
  t.after(() => rmSync(model.dir, { recursive: true, force: true }));
  const out = path.join(model.dir, `model-${outType}.gguf`);
  await convertToGguf(model.dir, { outPath: out, outType });
  const want = referenceLogits(model, IDS).map(logSoftmax);
  const got = await llamaLogProbs(out, IDS);
  const diffs = want.map((w, i) => maxLogProbDiff(w, got[i]!));
  const worst = Math.max(...diffs);
  // The distributions must not be degenerate, or agreement would be vacuous.
  const spread = Math.max(...want[IDS.length - 1]!) - Math.min(...want[IDS.length - 1]!);
  t.diagnostic(`${arch} ${dtype}->${outType}: max |dlogp| ${worst.toExponential(2)}, spread ${spread.toFixed(2)}`);
  assert.ok(spread > 0.5, `reference distribution is nearly flat (spread ${spread})`);
  assert.ok(worst <= tolerance(arch, outType), `${arch}: log-probabilities differ by ${worst} (tolerance ${tolerance(arch, outType)})`);
}

// gpt_oss (MXFP4 experts) has its own test (gpt-oss.test.ts): llama.cpp rounds the activations of MXFP4 products.
for (const arch of TINY_ARCHS.filter((a) => a !== 'gpt_oss')) {
  test(`${arch}: llama.cpp logits of the converted F32 GGUF match the reference forward pass`, async (t) => {
    await check(arch, 'F32', 'f32', t);
  });
}

for (const arch of ['llama', 'qwen3', 'mixtral', 'qwen2_moe', 'gemma3', 'gpt_oss_bf16'] as const) {
  test(`${arch}: bf16 weights -> F16 GGUF match the reference within f16 rounding`, async (t) => {
    await check(arch, 'BF16', 'f16', t);
  });
}

test('qwen3_moe with a SentencePiece tokenizer.model (the tokenizer follows the files, not the architecture)', async (t) => {
  await check('qwen3_moe', 'BF16', 'f16', t, 'spm');
});
