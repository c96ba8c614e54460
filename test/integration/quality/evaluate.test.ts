/**
 * evaluate() end to end with the real tools: stories260K (F32) as the baseline, Q8_0 and Q4_K_M
 * requantizations made here with llama-quantize. Checks the numbers against independent runs of
 * llama-perplexity, the cache of baseline logits (reused, not recomputed), the disk cap with a
 * fake statfs, and the results written into the manifest (validated by the schema on reading).
 * Each test stands alone (any one can run by itself, in any order): the shared first evaluation
 * is made once, by whichever test needs it first.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type TestContext, after, test } from 'node:test';
import { CancelledError } from '../../../src/core/errors';
import { readManifest } from '../../../src/core/manifest/io';
import { type EvaluationReport, evaluate } from '../../../src/core/quality/evaluate';
import { kldBaseBytes, pplFromKldBase, readKldBaseHeader } from '../../../src/core/quality/kld-base';
import { KLD_DISK_RESERVE_BYTES, KLD_DISK_SHARE } from '../../../src/core/quality/kld-cap';
import { runPerplexity } from '../../../src/core/quality/perplexity';
import { CHUNKS, CTX, type QualityAssets, baselineEntry, ggufEntry, qualityAssets, quantize, writeTestManifest } from './setup';

const work = mkdtempSync(path.join(os.tmpdir(), 'pajamas-quality-'));
after(() => rmSync(work, { recursive: true, force: true }));
const cacheDir = path.join(work, 'cache');

interface FirstEvaluation {
  assets: QualityAssets;
  manifestPath: string;
  report: EvaluationReport;
}

let firstRun: Promise<FirstEvaluation | undefined> | undefined;

/** Quantizes stories260K to Q8_0 and Q4_K_M and evaluates both into `cacheDir`, once per file. */
function firstEvaluation(t: TestContext): Promise<FirstEvaluation | undefined> {
  firstRun ??= (async () => {
    const assets = await qualityAssets(t);
    if (!assets) return undefined;
    const { tools, model, text } = assets;
    const q8 = await quantize(tools, model, path.join(work, 'stories-Q8_0.gguf'), 'Q8_0');
    const q4 = await quantize(tools, model, path.join(work, 'stories-Q4_K_M.gguf'), 'Q4_K_M');
    const manifestPath = await writeTestManifest(
      work,
      [await ggufEntry(q8, 'Q8_0'), await ggufEntry(q4, 'Q4_K_M')],
      await baselineEntry(work, model),
    );
    const report = await evaluate(manifestPath, { text, ctx: CTX, maxChunks: CHUNKS, cacheDir }, { tools });
    return { assets, manifestPath, report };
  })();
  return firstRun;
}

function kldOf(report: EvaluationReport, id: string) {
  const a = report.artifacts.find((x) => x.id === id);
  assert.ok(a, id);
  return a.quality;
}

test('KL divergence against F32: Q8_0 below Q4_K_M, values in range, results in the manifest', async (t) => {
  const run = await firstEvaluation(t);
  if (!run) return t.skip('needs ../shared and the llama.cpp tools');
  const { manifestPath, report: first } = run;
  const q8q = kldOf(first, 'stories-Q8_0');
  const q4q = kldOf(first, 'stories-Q4_K_M');
  t.diagnostic(`baseline PPL ${first.baseline?.ppl}; Q8_0 ${JSON.stringify(q8q)}; Q4_K_M ${JSON.stringify(q4q)}`);
  for (const q of [q8q, q4q]) {
    assert.ok(q.kldMean !== null && q.kldMean >= 0);
    assert.ok(q.kldP99 !== null && q.kldP99 >= q.kldMean);
    assert.ok(q.top1 !== null && q.top1 >= 0 && q.top1 <= 1);
    assert.ok(q.ppl > 1);
    assert.ok(Math.abs(q.pplRatio! - q.ppl / first.baseline!.ppl) < 1e-12);
    assert.equal(q.contextSize, CTX);
  }
  assert.ok(q8q.kldMean! < q4q.kldMean!, `Q8_0 KLD ${q8q.kldMean} < Q4_K_M KLD ${q4q.kldMean}`);
  assert.ok(q8q.top1! > q4q.top1!);
  assert.equal(first.chunks, CHUNKS);
  assert.equal(first.text.name, `war-and-peace-heldout.txt (first ${CHUNKS} x ${CTX} tokens)`);
  assert.equal(first.baseline?.kldBaseReused, false);

  const { manifest } = await readManifest(manifestPath); // validates against the schema
  assert.deepEqual(
    manifest.artifacts.map((a) => a.quality?.kldMean),
    [q8q.kldMean, q4q.kldMean],
  );
  assert.deepEqual(manifest.baseline?.quality, { text: first.text, contextSize: CTX, ppl: first.baseline!.ppl });
});

test("the numbers agree with llama-perplexity's own runs on the same chunks", async (t) => {
  const run = await firstEvaluation(t);
  if (!run) return t.skip('needs ../shared and the llama.cpp tools');
  const { assets, report: first } = run;
  const { tools, model, text } = assets;
  const q4 = first.artifacts.find((a) => a.id === 'stories-Q4_K_M')!;
  const plain = await runPerplexity(q4.path, text, { tools, ctx: CTX, chunks: CHUNKS });
  // The --kl-divergence pass scores the same tokens: the same perplexity to the printed digits.
  assert.ok(Math.abs(plain.ppl - q4.quality.ppl) < 1e-3, `${plain.ppl} vs ${q4.quality.ppl}`);
  assert.equal(plain.chunks.length, CHUNKS);
  assert.equal(plain.chunks.at(-1), plain.ppl);
  const base = await runPerplexity(model, text, { tools, ctx: CTX, chunks: CHUNKS });
  // Exact when the tool's line was read; from the 16-bit base file (within ~1e-4) when it was lost.
  assert.ok(Math.abs(base.ppl / first.baseline!.ppl - 1) < 1e-3, `${base.ppl} vs ${first.baseline!.ppl}`);
  // The base file reproduces the tool's "Mean PPL(base)".
  const fromFile = await pplFromKldBase(first.baseline!.kldBase);
  assert.ok(q4.kld && Math.abs(fromFile / q4.kld.pplBase - 1) < 1e-4, `${fromFile} vs ${q4.kld?.pplBase}`);
});

test('a second evaluation reuses the cached baseline logits', async (t) => {
  const run = await firstEvaluation(t);
  if (!run) return t.skip('needs ../shared and the llama.cpp tools');
  const { assets, manifestPath, report: first } = run;
  const baseFile = first.baseline!.kldBase;
  const before = statSync(baseFile).mtimeMs;
  const logs: string[] = [];
  const second = await evaluate(
    manifestPath,
    { text: assets.text, ctx: CTX, maxChunks: CHUNKS, cacheDir },
    { tools: assets.tools, log: (l) => logs.push(l) },
  );
  assert.equal(second.baseline?.kldBaseReused, true);
  assert.equal(second.baseline?.kldBase, baseFile);
  assert.equal(statSync(baseFile).mtimeMs, before, 'the base file was not rewritten');
  assert.ok(
    logs.some((l) => l.startsWith('reusing the cached KL-divergence base')),
    logs.join('\n'),
  );
  assert.ok(!logs.some((l) => l.startsWith("computing the baseline's log-probabilities")), 'no baseline pass ran');
  assert.equal(
    logs.filter((l) => l.startsWith('running llama-perplexity')).every((l) => l.endsWith('--kl-divergence')),
    true,
  );
  assert.equal(second.baseline?.ppl, first.baseline?.ppl);
  assert.equal(kldOf(second, 'stories-Q8_0').kldMean, kldOf(first, 'stories-Q8_0').kldMean);
});

test('little free disk caps the base to the chunks that fit, and the report says so', async (t) => {
  const run = await firstEvaluation(t);
  if (!run) return t.skip('needs ../shared and the llama.cpp tools');
  const { assets, manifestPath } = run;
  const perChunk = kldBaseBytes({ nCtx: CTX, nVocab: 512, nChunk: 2 }) - kldBaseBytes({ nCtx: CTX, nVocab: 512, nChunk: 1 });
  // Room for exactly 3 chunks of base file after the reserve and the share rule.
  const free = KLD_DISK_RESERVE_BYTES + (kldBaseBytes({ nCtx: CTX, nVocab: 512, nChunk: 3 }) + perChunk / 2) / KLD_DISK_SHARE;
  const report = await evaluate(
    manifestPath,
    { text: assets.text, ctx: CTX, maxChunks: CHUNKS, cacheDir: path.join(work, 'cache-small'), updateManifest: false, gate: false },
    { tools: assets.tools, statfs: async () => ({ bavail: Math.floor(free / 512), bsize: 512 }) },
  );
  assert.equal(report.chunks, 3);
  assert.match(report.capReason ?? '', /only the first 3 chunks/);
  assert.equal(report.text.name, `war-and-peace-heldout.txt (first 3 x ${CTX} tokens)`);
  assert.equal((await readKldBaseHeader(report.baseline!.kldBase)).nChunk, 3);
});

test('cancelling during the baseline pass leaves nothing in the cache that looks complete', async (t) => {
  const run = await firstEvaluation(t);
  if (!run) return t.skip('needs ../shared and the llama.cpp tools');
  const { assets, manifestPath } = run;
  const dir = path.join(work, 'cache-cancelled');
  const controller = new AbortController();
  await assert.rejects(
    evaluate(
      manifestPath,
      { text: assets.text, ctx: CTX, cacheDir: dir, updateManifest: false },
      {
        tools: assets.tools,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.step === 'baseline logits' && (p.done ?? 0) >= 1) controller.abort();
        },
      },
    ),
    (e: Error) => e instanceof CancelledError,
  );
  const entries = readdirSync(dir);
  assert.equal(entries.length, 1, 'one cache entry folder');
  assert.deepEqual(readdirSync(path.join(dir, entries[0]!)), [], 'no base.bin, no meta.json, no temporary file');
});
