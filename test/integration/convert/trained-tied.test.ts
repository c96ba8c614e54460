/**
 * pajama-tied-vocab, trained here by test/fixtures/models/trained/train_tied_qwen3.py: the
 * independent forward pass (reference-forward.ts, Hugging Face semantics in float64) must give the
 * held-out negative log-likelihood the trainer recorded for its stored bf16 weights, and llama.cpp
 * on the converted F16 GGUF must give the same next-token distributions. So the model the plan
 * tests rely on is a real, correctly converted Qwen3 with tied embeddings.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { convertToGguf } from '../../../src/core/convert';
import { openSafetensorsModel, readTensorFloat32 } from '../../../src/core/formats/safetensors';
import { readGgufHeader } from '../../../src/core/formats/gguf';
import { readConfigJson } from '../../../src/core/hf/config';
import { logSoftmax, referenceLogits } from '../../fixtures/models/reference-forward';
import type { TinyModel, TinyWeight } from '../../fixtures/models/tiny-models';
import { readTrainingRecord, tiedModelOrSkip } from '../../fixtures/models/trained/tied-model';
import { llamaLogProbs, maxLogProbDiff } from './logits-harness';

/** float32 (trainer) against float64 (reference) arithmetic on the same bf16 weights. */
const NLL_TOLERANCE = 1e-4;
/** llama.cpp rounds activations to f16 in matrix products of an F16 model (see logits.test.ts). */
const LOGPROB_TOLERANCE = 5e-3;

async function loadModel(dir: string): Promise<TinyModel> {
  const st = await openSafetensorsModel(dir);
  const weights = new Map<string, TinyWeight>();
  for (const [name, t] of st.tensors) weights.set(name, { shape: [...t.shape], data: await readTensorFloat32(t) });
  return { dir, config: (await readConfigJson(path.join(dir, 'config.json'))) as unknown as Record<string, unknown>, weights };
}

test('pajama-tied-vocab: the reference forward pass reproduces the trainer, and llama.cpp the reference', async (t) => {
  const dir = await tiedModelOrSkip(t);
  if (!dir) return;
  const record = readTrainingRecord(dir);
  const model = await loadModel(dir);
  assert.equal(model.weights.has('lm_head.weight'), false, 'tied: no separate output head');
  assert.ok(record.embedding_share > 0.25, `the embedding holds ${record.embedding_share} of the parameters`);
  assert.notEqual((model.config.hidden_size as number) % 256, 0, 'rows do not split into 256-value blocks');

  const ids = record.reference.ids;
  const logProbs = referenceLogits(model, ids.slice(0, -1)).map(logSoftmax);
  const nll = -logProbs.reduce((s, lp, i) => s + lp[ids[i + 1]!]!, 0) / logProbs.length;
  t.diagnostic(`reference NLL ${nll.toFixed(6)}, trainer ${record.reference.mean_nll.toFixed(6)} (held-out loss ${record.heldout_loss})`);
  assert.ok(Math.abs(nll - record.reference.mean_nll) <= NLL_TOLERANCE, `reference ${nll} vs trainer ${record.reference.mean_nll}`);
  assert.ok(nll < Math.log(model.config.vocab_size as number) - 1.5, `the model is trained (NLL ${nll} well under uniform)`);

  const work = await mkdtemp(path.join(os.tmpdir(), 'pajamas-tied-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const gguf = path.join(work, 'tied-f16.gguf');
  await convertToGguf(dir, { outPath: gguf, outType: 'f16' });
  const names = (await readGgufHeader(gguf)).tensors.map((x) => x.name);
  assert.ok(names.includes('token_embd.weight') && !names.includes('output.weight'), 'the GGUF is tied too');
  const window = ids.slice(0, 48);
  const got = await llamaLogProbs(gguf, window);
  const worst = Math.max(...logProbs.slice(0, window.length).map((want, i) => maxLogProbDiff(want, got[i]!)));
  t.diagnostic(`llama.cpp vs reference: max |dlogp| ${worst.toExponential(2)}`);
  assert.ok(worst <= LOGPROB_TOLERANCE, `log-probabilities differ by ${worst}`);
});
