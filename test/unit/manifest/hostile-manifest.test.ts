/**
 * A manifest is untrusted input (the Hub, a colleague): its paths stay inside its folder, its
 * counts and numbers are bounded as the schema says, duplicates and empty artifact lists are
 * refused, and each refusal is a FormatError that names the manifest and the field.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import schema from '../../../schemas/manifest.schema.json';
import type { LayerKind } from '../../../src/core/arch/types';
import { FormatError } from '../../../src/core/errors';
import { readManifest } from '../../../src/core/manifest/io';
import {
  MANIFEST_ARCHITECTURE_MAXIMA,
  MANIFEST_MAX_ARTIFACTS,
  MANIFEST_MAX_ARTIFACT_FILES,
  MANIFEST_MAX_BYTES,
  MANIFEST_MAX_INTEGER,
  MANIFEST_MAX_PATH_CHARS,
  MANIFEST_MAX_PLANS,
} from '../../../src/core/manifest/limits';
import type { Manifest } from '../../../src/core/manifest/types';
import { verifyManifest } from '../../../src/core/manifest/verify';
import { loadRuntimeTarget } from '../../../src/core/runtime/target';
import { tempDir } from '../../fixtures/bytes';
import { ggufArtifactFor, manifestWith, writeManifestFixture } from '../../fixtures/manifest';

async function manifestIn(t: TestContext, mutate: (m: Manifest) => void): Promise<string> {
  const dir = tempDir(t);
  const { manifestPath, manifest } = await writeManifestFixture(dir);
  mutate(manifest);
  writeFileSync(manifestPath, JSON.stringify(manifest));
  return manifestPath;
}

async function refused(file: string, pattern: RegExp): Promise<void> {
  for (const attempt of [() => verifyManifest(file), () => readManifest(file), () => loadRuntimeTarget(file)]) {
    await assert.rejects(attempt(), (e: unknown) => {
      assert.ok(e instanceof FormatError, `a FormatError, got ${String(e)}`);
      assert.match(e.message, pattern);
      assert.ok(e.message.includes(file), 'names the manifest');
      return true;
    });
  }
}

test('artifact paths that leave the folder are refused before any file is opened', async (t) => {
  for (const [bad, why] of [
    ['../../../etc/passwd', /\/artifacts\/0\/path "..\/..\/..\/etc\/passwd" climbs out with ".."/],
    ['/etc/passwd', /\/artifacts\/0\/path "\/etc\/passwd" is absolute/],
    ['C:\\Windows\\win.ini', /contains a backslash/],
    ['./tiny.gguf', /is not normalised/],
    ['a//b.gguf', /is not normalised/],
    ['', /must NOT have fewer than 1 characters|is empty/],
  ] as const) {
    await refused(await manifestIn(t, (m) => (m.artifacts[0]!.path = bad)), why);
  }
  await refused(
    await manifestIn(t, (m) => (m.artifacts[0]!.path = 'x'.repeat(MANIFEST_MAX_PATH_CHARS + 1))),
    /must NOT have more than|MANIFEST_MAX_PATH_CHARS/,
  );
  await refused(
    await manifestIn(t, (m) => {
      m.baseline = { path: '../f16.gguf', sizeBytes: 1, sha256: 'a'.repeat(64), inputsKey: null, kept: true, quality: null };
    }),
    /\/baseline\/path "..\/f16.gguf" climbs out/,
  );
});

test('a symlink that points outside the folder is refused; one inside is fine', async (t) => {
  const outside = tempDir(t);
  writeFileSync(path.join(outside, 'secret'), 'not yours');
  const file = await manifestIn(t, (m) => (m.artifacts[0]!.path = 'link.gguf'));
  symlinkSync(path.join(outside, 'secret'), path.join(path.dirname(file), 'link.gguf'));
  await refused(file, /\/artifacts\/0\/path "link.gguf" resolves to .*secret, outside the manifest's folder/);

  const viaFolder = await manifestIn(t, (m) => (m.artifacts[0]!.path = 'sub/model.gguf'));
  symlinkSync(outside, path.join(path.dirname(viaFolder), 'sub'));
  await refused(viaFolder, /resolves to .*model.gguf, outside/);

  const dir = tempDir(t);
  const { manifestPath, manifest } = await writeManifestFixture(dir);
  mkdirSync(path.join(dir, 'real'));
  symlinkSync(path.join(dir, 'tiny-Q4_K_M-pajamas.gguf'), path.join(dir, 'real', 'alias.gguf'));
  manifest.artifacts[0]!.path = 'real/alias.gguf';
  writeFileSync(manifestPath, JSON.stringify(manifest));
  assert.deepEqual((await verifyManifest(manifestPath)).problems, []);
});

test('counts, numbers and duplicates are bounded as the schema says', async (t) => {
  const one = ggufArtifactFor('/x/a.gguf', Buffer.from('a'));
  const many = Array.from({ length: MANIFEST_MAX_ARTIFACTS + 1 }, (_, i) => ({ ...one, id: `a${i}`, path: `a${i}.gguf` }));
  await refused(await manifestIn(t, (m) => (m.artifacts = many)), /\/artifacts must NOT have more than 256 items/);
  await refused(await manifestIn(t, (m) => (m.artifacts[0]!.sizeBytes = 2 ** 53)), /\/artifacts\/0\/sizeBytes must be <= 9007199254740991/);
  await refused(await manifestIn(t, (m) => (m.artifacts[0]!.bpw = 1e6)), /\/artifacts\/0\/bpw must be <= 64/);
  await refused(await manifestIn(t, (m) => (m.architecture.numLayers = 1e6)), /\/architecture\/numLayers must be <= 512/);
  // The runtime sizes its KV cache per layer kind: a kind it does not know is refused, not guessed at.
  await refused(
    await manifestIn(t, (m) => (m.architecture.layerTypes = ['fu\u00ff\u00fftion' as LayerKind])),
    /\/architecture\/layerTypes\/0 must be equal to one of the allowed values/,
  );
  await refused(
    await manifestIn(t, (m) => (m.artifacts = [m.artifacts[0]!, { ...m.artifacts[0]!, path: 'other.gguf' }])),
    /\/artifacts\/1\/id "tiny-Q4_K_M-pajamas" repeats \/artifacts\/0\/id/,
  );
  await refused(
    await manifestIn(t, (m) => (m.artifacts = [m.artifacts[0]!, { ...m.artifacts[0]!, id: 'other' }])),
    /\/artifacts\/1\/path "tiny-Q4_K_M-pajamas.gguf" repeats/,
  );
  const huge = await manifestIn(t, () => {});
  writeFileSync(huge, readFileSync(huge, 'utf8').replace('"bpw": 4.8', '"bpw": 1e999').replace('"bpw":4.8', '"bpw":1e999'));
  await refused(huge, /\/artifacts\/0\/bpw must be number/);
  // Where the schema leaves a value untyped (the architecture record's extra fields), the content check catches it.
  const extra = await manifestIn(t, () => {});
  writeFileSync(extra, readFileSync(extra, 'utf8').replace('"architecture":{', '"architecture":{"someRatio":1e999,'));
  await refused(extra, /\/architecture\/someRatio is not a finite number/);
});

test('an empty artifact list is not "all match"', async (t) => {
  const file = await manifestIn(t, (m) => (m.artifacts = []));
  await assert.rejects(verifyManifest(file), (e: unknown) => e instanceof FormatError && /\/artifacts is empty/.test(e.message));
  await assert.rejects(loadRuntimeTarget(file), (e: unknown) => e instanceof FormatError && /\/artifacts is empty/.test(e.message));
});

test('a manifest larger than MANIFEST_MAX_BYTES is refused before it is read', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'manifest.json');
  writeFileSync(file, '');
  truncateSync(file, MANIFEST_MAX_BYTES + 1);
  await assert.rejects(readManifest(file), (e: unknown) => e instanceof FormatError && /MANIFEST_MAX_BYTES/.test(e.message));
});

test('the schema states the same bounds as src/core/manifest/limits.ts', () => {
  const s = schema as unknown as { properties: Record<string, any>; $defs: Record<string, any> };
  assert.equal(s.properties.artifacts.maxItems, MANIFEST_MAX_ARTIFACTS);
  assert.equal(s.properties.plans.maxItems, MANIFEST_MAX_PLANS);
  assert.equal(s.$defs.mlxArtifact.properties.files.maxItems, MANIFEST_MAX_ARTIFACT_FILES);
  assert.equal(s.$defs.fileDigest.properties.sizeBytes.maximum, MANIFEST_MAX_INTEGER);
  assert.equal(s.$defs.fileDigest.properties.path.maxLength, MANIFEST_MAX_PATH_CHARS);
  const arch = s.properties.architecture.properties;
  for (const [field, max] of Object.entries(MANIFEST_ARCHITECTURE_MAXIMA)) {
    const node = field in arch ? arch[field] : arch.moe.oneOf[1].properties[field];
    assert.equal(node.maximum, max, `architecture.${field}`);
  }
  // Every layer kind detection can report, and nothing else (the Record makes the compiler list them all).
  const kinds = Object.keys({
    full_attention: 0,
    sliding_attention: 0,
    chunked_attention: 0,
    linear_attention: 0,
    mamba: 0,
    short_conv: 0,
    mlp_only: 0,
  } satisfies Record<LayerKind, 0>);
  assert.deepEqual([...arch.layerTypes.items.enum].sort(), kinds.sort());
  assert.equal(manifestWith([]).artifacts.length, 0);
});
