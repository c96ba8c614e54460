/** The worker's language features without a connection: where hovers apply, and manifest diagnostics. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { looksLikePajamasManifest } from '../../../src/core/manifest/identify';
import { isManifestUri, manifestDiagnostics, pointerSegments } from '../../../src/server/diagnostics';
import { isModelConfigUri, onPropertyName } from '../../../src/server/hover';
import { ggufArtifactFor, manifestWith } from '../../fixtures/manifest';

const text = (m: string | { value: string }) => (typeof m === 'string' ? m : m.value);

test('hover applies on property names of config.json files only', () => {
  const line = '  "num_key_value_heads": 2,';
  assert.ok(onPropertyName(line, 3));
  assert.ok(onPropertyName(line, line.indexOf(':') - 1));
  assert.equal(onPropertyName(line, line.length - 1), false, 'on the value');
  assert.equal(onPropertyName('  "a string value"', 5), false, 'a string that is not followed by a colon');
  assert.ok(isModelConfigUri('file:///m/tiny/config.json'));
  assert.equal(isModelConfigUri('file:///m/tiny/generation_config.json'), false);
  assert.equal(isModelConfigUri('untitled:config.json'), false);
});

test('JSON pointers become locations', () => {
  assert.deepEqual(pointerSegments(''), []);
  assert.deepEqual(pointerSegments('/artifacts/2/path'), ['artifacts', 2, 'path']);
  assert.deepEqual(pointerSegments('/a~1b/c~0d'), ['a/b', 'c~d']);
});

test('only Llama-Pajamas manifests get diagnostics', async () => {
  assert.ok(isManifestUri('file:///x/manifest.json'));
  assert.equal(looksLikePajamasManifest('{"name": "web app", "icons": []}'), false);
  assert.deepEqual(await manifestDiagnostics('{"name": "web app"', '/x/manifest.json'), []);
});

test('syntax errors, then schema errors, then file problems, each on its place', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pajamas-diag-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'manifest.json');
  const bytes = Buffer.from('twelve bytes');
  await writeFile(path.join(dir, 'a.gguf'), bytes);
  const manifest = manifestWith([ggufArtifactFor(path.join(dir, 'a.gguf'), bytes)]);
  const good = JSON.stringify(manifest, null, 2);
  assert.deepEqual(await manifestDiagnostics(good, file), []);

  const truncated = good.slice(0, 200);
  const syntax = await manifestDiagnostics(truncated, file);
  assert.ok(syntax.length > 0 && syntax.every((d) => text(d.message).startsWith('JSON: ')), JSON.stringify(syntax));

  const noModel = JSON.stringify({ ...manifest, model: undefined }, null, 2);
  const schema = await manifestDiagnostics(noModel, file);
  assert.equal(schema.length, 1);
  assert.match(text(schema[0]!.message), /must have required property 'model'/);

  const hashProblem = [
    { subject: 'tiny', file: 'a.gguf', message: 'sha256 is 00, the manifest says 11', location: ['artifacts', 0, 'path'] },
  ];
  const hashed = await manifestDiagnostics(good, file, hashProblem);
  assert.equal(hashed.length, 1);
  assert.equal(text(hashed[0]!.message), 'a.gguf: sha256 is 00, the manifest says 11 (artifact tiny)');
  assert.match(good.split('\n')[hashed[0]!.range.start.line]!, /"path": "a.gguf"/);
});
