/**
 * Every real config in ../shared/fixtures/configs must match its label in labels.json exactly
 * (parameters: within 3% as the issue allows, and we also pin the exact count), and the malformed
 * ones must fail with a FormatError that names the file.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { detectArchitecture } from '../../../src/core/arch/detect';
import { detectFromConfig } from '../../../src/core/arch/from-config';
import { FormatError } from '../../../src/core/errors';
import { parseConfigJson } from '../../../src/core/hf/config';
import { sharedAsset } from '../../helpers/env';

interface Label {
  file: string;
  model?: string;
  error?: boolean;
  [key: string]: unknown;
}

const EXACT_FIELDS = [
  'modelType',
  'family',
  'attention',
  'numLayers',
  'hiddenSize',
  'numAttentionHeads',
  'numKeyValueHeads',
  'headDim',
  'gqaRatio',
  'contextLength',
  'vocabSize',
  'slidingWindow',
  'attentionPattern',
  'moe',
  'parametersSource',
] as const;
const PARAMETER_TOLERANCE = 0.03;

test('every labelled config matches its label', async (t) => {
  const dir = sharedAsset(t, 'fixtures/configs');
  if (!dir) return;
  const labels = JSON.parse(readFileSync(path.join(dir, 'labels.json'), 'utf8')) as Label[];
  assert.ok(labels.length >= 30, 'labels.json lists the fixture configs');
  for (const label of labels) {
    if (label.error) continue;
    await t.test(label.file, async () => {
      const info = await detectArchitecture(path.join(dir, label.file));
      const got = info as unknown as Record<string, unknown>;
      for (const key of EXACT_FIELDS) {
        const value = key === 'moe' && info.moe ? pickMoe(info.moe) : got[key];
        assert.deepEqual(value, label[key], `${label.file}: ${key}`);
      }
      const want = label.parameters as { total: number; active: number };
      for (const k of ['total', 'active'] as const) {
        const rel = Math.abs(info.parameters[k] - want[k]) / want[k];
        assert.ok(rel <= PARAMETER_TOLERANCE, `${label.file}: parameters.${k} ${info.parameters[k]} vs ${want[k]}`);
      }
      // Not just within 3%: the computed counts reproduce the labels exactly.
      assert.deepEqual(info.parameters, want, `${label.file}: exact parameters`);
      assert.equal(info.layerTypes.length, info.numLayers);
    });
  }
});

function pickMoe(m: { numExperts: number; numExpertsPerToken: number; numSharedExperts: number }) {
  return { numExperts: m.numExperts, numExpertsPerToken: m.numExpertsPerToken, numSharedExperts: m.numSharedExperts };
}

test('malformed configs give a FormatError naming the file', async (t) => {
  const dir = sharedAsset(t, 'fixtures/configs');
  if (!dir) return;
  const labels = JSON.parse(readFileSync(path.join(dir, 'labels.json'), 'utf8')) as Label[];
  const malformed = labels.filter((l) => l.error);
  assert.ok(malformed.length >= 2);
  for (const label of malformed) {
    const file = path.join(dir, label.file);
    await assert.rejects(
      detectArchitecture(file),
      (e: unknown) => e instanceof FormatError && e.code === 'format' && e.message.includes(label.file),
      label.file,
    );
  }
  await assert.rejects(
    detectArchitecture(path.join(dir, 'malformed-truncated.json')),
    /line 16, column 3: unterminated string; the file looks truncated/,
  );
  await assert.rejects(detectArchitecture(path.join(dir, 'malformed-not-object.json')), /must be a JSON object, found an array/);
});

test('the Infinity in Nemotron-H is read, not rejected', (t) => {
  const dir = sharedAsset(t, 'fixtures/configs');
  if (!dir) return;
  const config = parseConfigJson(readFileSync(path.join(dir, 'nemotron-h-56b-base-8k.json'), 'utf8'));
  assert.deepEqual(config.time_step_limit, [0, Infinity]);
  assert.equal(detectFromConfig(config, 'nemotron').family, 'hybrid');
});
