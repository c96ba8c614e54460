/** The evaluation text: the shipped default (size, never the calibration text), user files, and the TextRef recorded. */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { UsageError } from '../../../src/core/errors';
import { loadCalibrationText } from '../../../src/core/pipeline/calibration';
import { DEFAULT_EVAL_TEXT, defaultEvalTextPath, resolveEvalText, textRefFor } from '../../../src/core/quality/text';
import { tempDir } from '../../fixtures/bytes';

test('the default text ships in data/, a few tens of KB of varied prose', async () => {
  const file = defaultEvalTextPath();
  assert.equal(path.basename(file), DEFAULT_EVAL_TEXT);
  const text = await resolveEvalText();
  assert.equal(text.isDefault, true);
  // Enough for 2 x 512-token contexts many times over; small enough that a 150k-vocabulary base stays a few GB.
  assert.ok(text.bytes > 40 * 1024 && text.bytes < 300 * 1024, `${text.bytes} bytes`);
  const body = readFileSync(file, 'utf8');
  assert.ok(!body.includes('\uFFFD'), 'valid UTF-8');
  // Several registers: dialogue, a letter, instructions, minutes, a review...
  for (const marker of ['"', 'Dear ', 'CLAIRE:', 'Minutes of', 'Review:', 'Abstract:', 'Frequently Asked Questions'])
    assert.ok(body.includes(marker), marker);
});

test('the default evaluation text is never the calibration text', async () => {
  const evaluation = await resolveEvalText();
  const calibration = await loadCalibrationText(null);
  assert.notEqual(evaluation.sha256, calibration.ref.sha256);
  // Nor does it share paragraphs with it (a model calibrated on a text must not be scored on it).
  const paragraphs = new Set(
    calibration.text
      .split(/\n\s*\n/)
      .map((p) => p.trim())
      .filter((p) => p.length > 80),
  );
  const shared = readFileSync(evaluation.path, 'utf8')
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter((p) => paragraphs.has(p));
  assert.deepEqual(shared, []);
});

test('a user file is named by its base name and hashed; missing or empty files are usage errors', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'my-text.txt');
  writeFileSync(file, 'hello world\n');
  const text = await resolveEvalText(file);
  assert.equal(text.name, 'my-text.txt');
  assert.equal(text.sha256, 'a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447');
  assert.equal(text.isDefault, false);
  await assert.rejects(
    resolveEvalText(path.join(dir, 'nope.txt')),
    (e: unknown) => e instanceof UsageError && /no such file/.test(e.message),
  );
  writeFileSync(path.join(dir, 'empty.txt'), '');
  await assert.rejects(resolveEvalText(path.join(dir, 'empty.txt')), /is empty/);
});

test('a capped evaluation says in the recorded name which part of the text was used', async () => {
  const text = { path: '/t/wiki.raw', name: 'wiki.raw', sha256: 'a'.repeat(64), bytes: 10, isDefault: false };
  assert.deepEqual(textRefFor(text, 40, 40, 512), { name: 'wiki.raw', sha256: 'a'.repeat(64) });
  assert.deepEqual(textRefFor(text, 12, 40, 512), { name: 'wiki.raw (first 12 x 512 tokens)', sha256: 'a'.repeat(64) });
});
