/**
 * The trained tiny models converted to F16 must score the held-out text like their training run:
 * llama-perplexity -c 256 within 0.1% of TRAINING.json's reference (computed the same way from
 * the bf16 weights). A wrong permutation, norm or expert order would cost far more than that.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { convertToGguf } from '../../../src/core/convert';
import { runLlamaTool } from '../../../src/core/llamacpp';
import { sharedAsset } from '../../helpers/env';
import { requireLlamaTools } from '../llamacpp/require-tools';

const TOLERANCE = 0.001;

for (const name of ['pajama-tiny-gqa', 'pajama-tiny-moe']) {
  test(`${name} -> F16 GGUF: llama-perplexity -c 256 within 0.1% of the training reference`, async (t) => {
    const model = sharedAsset(t, `models/${name}`);
    const text = sharedAsset(t, 'data/war-and-peace-heldout.txt');
    if (!model || !text) return;
    const tools = await requireLlamaTools(t);
    if (!tools) return;
    const reference = (JSON.parse(readFileSync(path.join(model, 'TRAINING.json'), 'utf8')) as { reference_ppl_llamacpp_ctx256: number })
      .reference_ppl_llamacpp_ctx256;
    const dir = mkdtempSync(path.join(os.tmpdir(), `pajamas-${name}-`));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const out = path.join(dir, `${name}-f16.gguf`);
    const result = await convertToGguf(model, { outPath: out, outType: 'f16' });
    assert.equal(result.architecture, 'llama');
    const run = await runLlamaTool('llama-perplexity', ['-m', out, '-f', text, '-c', '256'], { tools });
    const m = /Final estimate: PPL = ([0-9.]+)/.exec(run.stdout + run.stderr);
    assert.ok(m, 'llama-perplexity printed no final estimate');
    const ppl = Number(m[1]);
    t.diagnostic(`${name}: PPL ${ppl} (reference ${reference})`);
    assert.ok(Math.abs(ppl - reference) / reference <= TOLERANCE, `PPL ${ppl} differs from the reference ${reference} by more than 0.1%`);
  });
}
