/**
 * The evaluation's outputs: the gate verdict, the --json contract, the table, and the manifest
 * update (validated by the shipped schema).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QualityGateError, remediesOf } from '../../../src/core/errors';
import { validateManifest } from '../../../src/core/manifest/schema';
import { exitCodeFor } from '../../../src/cli/exit-codes';
import { type ArtifactEvaluation, type EvaluationReport, applyEvaluation } from '../../../src/core/quality/evaluate';
import { gateFailures, gateVerdict, qualityGateError } from '../../../src/core/quality/gate';
import { evaluationJson } from '../../../src/core/quality/report';
import { formatEvaluation } from '../../../src/cli/evaluation-table';
import { ggufArtifactFor, manifestWith, sha256 } from '../../fixtures/manifest';

const TEXT = { name: 'wikitext-2-test.raw', sha256: sha256('text') };

function artifact(id: string, ppl: number, baselinePpl: number | null, kld: number | null): ArtifactEvaluation {
  const pplRatio = baselinePpl === null ? null : ppl / baselinePpl;
  return {
    id,
    path: `/out/${id}.gguf`,
    format: 'gguf',
    strategy: 'pajamas',
    imatrix: false,
    target: 'Q4_K_M',
    sizeBytes: 1_000_000,
    bpw: 4.85,
    kld: null,
    quality: {
      text: TEXT,
      contextSize: 512,
      ppl,
      kldMean: kld,
      kldP99: kld === null ? null : kld * 8,
      top1: kld === null ? null : 0.93,
      pplRatio,
      gate: gateVerdict(pplRatio, 5),
      evaluatedAt: '2026-11-26T12:00:00.000Z',
    },
  };
}

function report(artifacts: ArtifactEvaluation[], baselinePpl: number | null): EvaluationReport {
  return {
    manifestPath: '/out/manifest.json',
    text: TEXT,
    textPath: '/data/wikitext-2-test.raw',
    ctx: 512,
    chunks: 10,
    availableChunks: 10,
    capReason: null,
    baseline:
      baselinePpl === null
        ? null
        : { path: '/out/model-f16.gguf', ppl: baselinePpl, rebuilt: false, kldBase: '/c/base.bin', kldBaseReused: true },
    artifacts,
    gate: { enforced: true, thresholdPct: 5, failed: gateFailures(artifacts.map((a) => ({ ...a, ...a.quality }))).map((a) => a.id) },
  };
}

test('the gate passes up to the threshold and fails above it; no baseline, no verdict', () => {
  assert.deepEqual(gateVerdict(1.05, 5), { thresholdPct: 5, passed: true });
  assert.deepEqual(gateVerdict(1.0501, 5), { thresholdPct: 5, passed: false });
  assert.deepEqual(gateVerdict(0.99, 0), { thresholdPct: 0, passed: true });
  assert.equal(gateVerdict(null, 5), null);
});

test('a failed gate is a QualityGateError, exit code 5, naming the artifact and the rise', () => {
  const e = qualityGateError([{ id: 'm-Q2_K-naive', ppl: 11, pplRatio: 1.1, gate: { thresholdPct: 5, passed: false } }], 5);
  assert.ok(e instanceof QualityGateError);
  assert.equal(exitCodeFor(e.code), 5);
  assert.match(e.message, /m-Q2_K-naive \(PPL 11\.0000, \+10\.00%\)/);
  // Core names no CLI flag: the remedies say which options help, and each front end phrases them.
  assert.doesNotMatch(e.message, /--/);
  assert.deepEqual(remediesOf(e), [
    { option: 'targets', value: 'Q5_K_M' },
    { option: 'imatrix', value: 'auto' },
    { option: 'gateThresholdPct' },
    { option: 'gate', value: false },
  ]);
});

test('--json has exactly the contract fields (extras allowed), KLD null without a baseline', () => {
  const withBase = evaluationJson(report([artifact('a', 10.3, 10, 0.03)], 10));
  assert.deepEqual(withBase.baseline && { path: withBase.baseline.path, ppl: withBase.baseline.ppl }, {
    path: '/out/model-f16.gguf',
    ppl: 10,
  });
  const a = withBase.artifacts[0]!;
  for (const key of ['path', 'ppl', 'kldMean', 'kldP99', 'top1', 'gate']) assert.ok(key in a, key);
  assert.equal(a.kldMean, 0.03);
  assert.deepEqual(a.gate, { thresholdPct: 5, passed: true });

  const without = evaluationJson(report([artifact('b', 10.3, null, null)], null));
  assert.equal(without.baseline, null);
  const b = without.artifacts[0]!;
  assert.equal(b.kldMean, null);
  assert.equal(b.kldP99, null);
  assert.equal(b.top1, null);
  assert.equal(b.gate, null);
  assert.doesNotThrow(() => JSON.parse(JSON.stringify(without)));
});

test('the table has every column, the baseline row, and marks failures', () => {
  const text = formatEvaluation(report([artifact('good', 10.2, 10, 0.02), artifact('bad', 11, 10, 0.2)], 10));
  const [header, rule, base, good, bad] = text.split('\n');
  for (const col of ['artifact', 'size', 'bpw', 'PPL', 'PPL ratio', 'mean KLD', 'p99 KLD', 'top-1', 'gate'])
    assert.ok(header!.includes(col), col);
  assert.match(rule!, /^-+/);
  assert.match(base!, /^F16 baseline .* 10\.0000 +1\.0000/);
  assert.match(good!, /^good .* 10\.2000 +1\.0200 +0\.020000 +0\.160000 +93\.00% +pass$/);
  assert.match(bad!, /^bad .*FAIL$/);
  assert.match(text, /text: wikitext-2-test\.raw .* context 512, 10 of 10 chunk/);
});

test('results go into the manifest per artifact and for the baseline, and the schema accepts it', () => {
  const bytes = Buffer.from('x');
  const manifest = manifestWith([ggufArtifactFor('/out/a.gguf', bytes), ggufArtifactFor('/out/other.gguf', bytes)]);
  manifest.baseline = { path: 'model-f16.gguf', sizeBytes: 10, sha256: sha256('f16'), inputsKey: null, kept: true, quality: null };
  const updated = applyEvaluation(manifest, report([artifact('a', 10.3, 10, 0.03)], 10), true);
  validateManifest(updated, 'manifest.json');
  assert.equal(updated.artifacts[0]!.quality?.ppl, 10.3);
  assert.equal(updated.artifacts[0]!.quality?.kldMean, 0.03);
  assert.deepEqual(updated.artifacts[0]!.quality?.text, TEXT);
  assert.equal(updated.artifacts[1]!.quality, null, 'an artifact not evaluated keeps its state');
  assert.deepEqual(updated.baseline?.quality, { text: TEXT, contextSize: 512, ppl: 10 });
  assert.notEqual(updated.updatedAt, manifest.updatedAt);
  // A baseline passed with --baseline that is not the manifest's own is not recorded as its quality.
  assert.equal(applyEvaluation(manifest, report([artifact('a', 10.3, 10, 0.03)], 10), false).baseline?.quality, null);
});

test('PPL-only results (no baseline) validate too', () => {
  const manifest = manifestWith([ggufArtifactFor('/out/a.gguf', Buffer.from('x'))]);
  const updated = applyEvaluation(manifest, report([artifact('a', 10.3, null, null)], null), false);
  validateManifest(updated, 'manifest.json');
  assert.equal(updated.artifacts[0]!.quality?.gate, null);
});
