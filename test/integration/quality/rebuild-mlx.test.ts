/**
 * A manifest whose F16 intermediate was deleted (`kept: false`): evaluate() rebuilds it from the
 * HF source with the converter, measures against it, deletes it again, and a second evaluation
 * takes the baseline logits from the cache without rebuilding. The manifest also holds an MLX
 * artifact, measured through the dequantize-to-GGUF path on the same scale as the GGUF one.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { UsageError, remediesOf } from '../../../src/core/errors';
import { convertToGguf } from '../../../src/core/convert';
import { sha256File } from '../../../src/core/fs/hash';
import { readManifest } from '../../../src/core/manifest/io';
import type { MlxArtifact } from '../../../src/core/manifest/types';
import { naiveMlxPolicy } from '../../../src/core/mlx/policy';
import { writeMlxModel } from '../../../src/core/mlx/writer';
import { evaluate } from '../../../src/core/quality/evaluate';
import { sha256 } from '../../fixtures/manifest';
import { sharedAsset } from '../../helpers/env';
import { CHUNKS, CTX, baselineEntry, ggufEntry, qualityAssets, quantize, writeTestManifest } from './setup';

const work = mkdtempSync(path.join(os.tmpdir(), 'pajamas-quality-rebuild-'));
after(() => rmSync(work, { recursive: true, force: true }));

async function mlxEntry(dir: string, mlxDir: string, bits: 4, groupSize: 32, bpw: number): Promise<MlxArtifact> {
  const names = readdirSync(mlxDir).sort();
  const files = await Promise.all(
    names.map(async (n) => ({
      path: path.join(path.basename(mlxDir), n),
      sizeBytes: statSync(path.join(mlxDir, n)).size,
      sha256: await sha256File(path.join(mlxDir, n)),
    })),
  );
  return {
    id: path.basename(mlxDir),
    format: 'mlx',
    path: path.relative(dir, mlxDir),
    target: `mlx-${bits}bit`,
    strategy: 'naive',
    imatrix: false,
    bits,
    groupSize,
    files,
    tensorBits: { [String(bits)]: 1 },
    sizeBytes: files.reduce((n, f) => n + f.sizeBytes, 0),
    bpw,
    inputsKey: sha256('mlx inputs'),
    createdAt: '2026-11-26T10:00:00.000Z',
    quality: null,
  };
}

test('a deleted F16 baseline is rebuilt from the source, used, deleted again, then cached; MLX is measured too', async (t) => {
  const assets = await qualityAssets(t);
  const hfDir = sharedAsset(t, 'models/stories260K-hf');
  if (!assets || !hfDir) return;
  const { tools, text } = assets;
  const f16 = path.join(work, 'stories-F16.gguf');
  await convertToGguf(hfDir, { outPath: f16, outType: 'f16' });
  const q8 = await quantize(tools, f16, path.join(work, 'stories-Q8_0.gguf'), 'Q8_0');
  const mlxDir = path.join(work, 'stories-mlx-4bit-naive');
  const mlx = await writeMlxModel(hfDir, mlxDir, naiveMlxPolicy({ bits: 4, groupSize: 32 }));
  const baseline = await baselineEntry(work, f16, false);
  rmSync(f16);
  const source = { kind: 'hf-folder' as const, path: hfDir, repoId: null, revision: null, files: [] };
  const manifestPath = await writeTestManifest(
    work,
    [await ggufEntry(q8, 'Q8_0'), await mlxEntry(work, mlxDir, 4, 32, mlx.bitsPerWeight)],
    baseline,
    source,
  );
  const cacheDir = path.join(work, 'cache');
  const logs: string[] = [];

  // 4-bit MLX on a 260K-parameter model raises perplexity beyond the gate: report only.
  const first = await evaluate(
    manifestPath,
    { text, ctx: CTX, maxChunks: CHUNKS, cacheDir, gate: false },
    { tools, log: (l) => logs.push(l) },
  );
  assert.equal(first.baseline?.rebuilt, true);
  assert.ok(
    logs.some((l) => l.includes('was deleted after quantizing (kept: false); rebuilding it')),
    logs.join('\n'),
  );
  assert.ok(!logs.some((l) => l.includes("rebuilt baseline's sha256")), 'the converter is deterministic: same sha256 as recorded');
  assert.equal(existsSync(f16), false, 'the rebuilt intermediate is deleted again');
  assert.equal(readdirSync(work).filter((n) => n.endsWith('.partial')).length, 0, 'no temporary files left');

  const q8q = first.artifacts.find((a) => a.format === 'gguf')!.quality;
  const mlxq = first.artifacts.find((a) => a.format === 'mlx')!.quality;
  t.diagnostic(`Q8_0 KLD ${q8q.kldMean}, MLX 4-bit KLD ${mlxq.kldMean} (top-1 ${mlxq.top1}), baseline PPL ${first.baseline?.ppl}`);
  assert.ok(mlxq.kldMean! > 0 && mlxq.kldMean! < 0.5, `MLX KLD ${mlxq.kldMean}`);
  assert.ok(q8q.kldMean! < mlxq.kldMean!, '8-bit GGUF beats 4-bit MLX');
  assert.ok(mlxq.top1! > 0.5 && mlxq.top1! <= 1);
  assert.deepEqual(first.gate, { enforced: false, thresholdPct: 5, failed: mlxq.gate!.passed ? [] : ['stories-mlx-4bit-naive'] });

  const { manifest } = await readManifest(manifestPath);
  assert.equal(manifest.baseline?.kept, false);
  assert.equal(manifest.baseline?.quality?.ppl, first.baseline?.ppl);
  assert.equal(manifest.artifacts[1]?.quality?.kldMean, mlxq.kldMean);

  logs.length = 0;
  const second = await evaluate(
    manifestPath,
    { text, ctx: CTX, maxChunks: CHUNKS, cacheDir, gate: false },
    { tools, log: (l) => logs.push(l) },
  );
  assert.equal(second.baseline?.rebuilt, false, 'the cached base (keyed by the recorded sha256) spares the rebuild');
  assert.equal(second.baseline?.kldBaseReused, true);
  assert.ok(!logs.some((l) => l.includes('rebuilding')));
  assert.equal(second.baseline?.ppl, first.baseline?.ppl);
});

test('a deleted baseline without its source is a usage error that says what to pass', async (t) => {
  const assets = await qualityAssets(t);
  if (!assets) return;
  const dir = mkdtempSync(path.join(work, 'nosource-'));
  const q8 = await quantize(assets.tools, assets.model, path.join(dir, 'stories-Q8_0.gguf'), 'Q8_0');
  const baseline = { path: 'gone-F16.gguf', sizeBytes: 1000, sha256: sha256('gone'), inputsKey: null, kept: false, quality: null };
  const source = { kind: 'hf-folder' as const, path: path.join(dir, 'no-such-folder'), repoId: null, revision: null, files: [] };
  const manifestPath = await writeTestManifest(dir, [await ggufEntry(q8, 'Q8_0')], baseline, source);
  await assert.rejects(
    evaluate(manifestPath, { text: assets.text, ctx: CTX, maxChunks: CHUNKS, cacheDir: path.join(dir, 'cache') }, { tools: assets.tools }),
    (e: unknown) =>
      e instanceof UsageError &&
      /was deleted after quantizing/.test(e.message) &&
      remediesOf(e).some((r) => 'option' in r && r.option === 'baseline'),
  );
});
