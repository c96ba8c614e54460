/**
 * Parsers of llama-perplexity's output, on output captured from real runs (fixtures/README.md):
 * complete, cut short by the tool's logger, and the tool's own errors (it exits 0 after them).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { kldResultFromOutput } from '../../../src/core/quality/kld';
import {
  parseKldOutput,
  parsePerplexityOutput,
  parseToolNumber,
  stripLogPrefix,
  toolErrorLines,
} from '../../../src/core/quality/perplexity-output';

const fixture = (name: string) => readFileSync(path.join(__dirname, 'fixtures', name), 'utf8');
const BASE_128x6 = { nCtx: 128, nVocab: 512, nChunk: 6 };

test('a complete perplexity run gives the final estimate and every chunk value', () => {
  const out = parsePerplexityOutput(fixture('perplexity-complete.txt'));
  assert.equal(out.ppl, 56.8279);
  assert.equal(out.pplError, 10.2309);
  assert.deepEqual(out.chunks, [57.7826, 51.9338, 55.7708, 61.4822, 62.5811, 56.8279]);
  // The running value after the last chunk is the final estimate.
  assert.equal(out.chunks.at(-1), out.ppl);
  assert.deepEqual(out.errors, []);
});

test('a run cut short by the logger has no result and no error (so the runner repeats it)', () => {
  const out = parsePerplexityOutput(fixture('perplexity-cut-short.txt'));
  assert.equal(out.ppl, null);
  assert.deepEqual(out.errors, []);
});

test("the tool's own error lines are found although it exits 0", () => {
  const out = parsePerplexityOutput(fixture('perplexity-too-few-tokens.txt'));
  assert.equal(out.ppl, null);
  assert.equal(out.chunks.length, 0);
  assert.ok(
    out.errors.some((l) => l === 'perplexity: you need at least 256 tokens to evaluate perplexity with a context of 128'),
    out.errors.join('\n'),
  );
  assert.ok(out.errors.some((l) => l.includes('tokenizes to only 170 tokens')));
});

test('a complete KL-divergence run gives its statistics and the per-chunk table', () => {
  const out = parseKldOutput(fixture('kld-complete.txt'));
  assert.equal(out.rows.length, 6);
  assert.deepEqual(
    out.rows.map((r) => r.chunk),
    [1, 2, 3, 4, 5, 6],
  );
  const s = out.stats;
  assert.ok(s, 'statistics parsed');
  assert.ok(s.kldMean > 0 && s.kldMean < 1);
  assert.ok(s.kldP99 >= s.kldMedian && s.kldP999 >= s.kldP99 && s.kldMax >= s.kldP999);
  assert.ok(s.sameTop > 0.5 && s.sameTop <= 1, `same top ${s.sameTop}`);
  assert.ok(Math.abs(s.pplRatio - Math.exp(s.lnPplRatio)) < 1e-5);
  assert.ok(Math.abs(s.pplRatio - s.pplQ / s.pplBase) < 1e-4);
  // The last row holds the running means over all chunks: the same numbers, fewer digits.
  const last = out.rows.at(-1)!;
  assert.ok(Math.abs(last.kldMean - s.kldMean) < 1e-5);
  assert.ok(Math.abs(last.sameTop - s.sameTop) < 1e-5);
  assert.ok(Math.abs(last.ppl - s.pplQ) < 1e-4);
  assert.deepEqual(out.errors, []);
});

test('a KL-divergence run that lost its statistics is repeated, and accepted from its last row on the last attempt', () => {
  const text = fixture('kld-cut-short.txt');
  const out = parseKldOutput(text);
  assert.equal(out.stats, null);
  assert.equal(out.rows.length, 6);
  assert.equal(kldResultFromOutput(text, BASE_128x6, false).result, null);
  const accepted = kldResultFromOutput(text, BASE_128x6, true).result;
  assert.ok(accepted);
  assert.equal(accepted.kldP99, null);
  assert.equal(accepted.kldMean, out.rows[5]!.kldMean);
  assert.equal(accepted.top1, out.rows[5]!.sameTop);
  // Rows that stop before the base's last chunk are never a result.
  assert.equal(kldResultFromOutput(text, { ...BASE_128x6, nChunk: 7 }, true).result, null);
});

test('complete KLD output gives the full result including p99', () => {
  const r = kldResultFromOutput(fixture('kld-complete.txt'), BASE_128x6, false).result;
  assert.ok(r);
  assert.ok(r.kldP99 !== null && r.kldP99 > r.kldMean);
  assert.ok(r.top1 >= 0 && r.top1 <= 1);
});

test('numbers as printf prints them, including nan and inf', () => {
  assert.equal(parseToolNumber('12.5000'), 12.5);
  assert.ok(Number.isNaN(parseToolNumber('nan')));
  assert.ok(Number.isNaN(parseToolNumber('-nan')));
  assert.equal(parseToolNumber('inf'), Infinity);
  assert.equal(parseToolNumber('-inf'), -Infinity);
  const out = parsePerplexityOutput('[1]nan,[2]nan,\n0.00.1.2 I Final estimate: PPL = nan +/- nan\n');
  assert.ok(Number.isNaN(out.ppl!));
  assert.equal(out.chunks.length, 2);
});

test('log prefixes are stripped and unrelated warnings are not errors', () => {
  assert.equal(stripLogPrefix('0.00.323.402 E perplexity: boom'), 'perplexity: boom');
  assert.deepEqual(toolErrorLines("0.00.013.026 W load: bad special token: 'tokenizer.ggml.seperator_token_id'"), []);
  assert.deepEqual(toolErrorLines('0.00.1.2 E kl_divergence: inconsistent vocabulary (512 vs 32000)'), [
    'kl_divergence: inconsistent vocabulary (512 vs 32000)',
  ]);
});
