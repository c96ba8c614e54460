import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { validateManifest } from '../../../src/core/manifest/schema';
import { readManifest, writeManifest } from '../../../src/core/manifest/io';
import { verifyManifest } from '../../../src/core/manifest/verify';
import { FormatError, UsageError } from '../../../src/core/errors';
import { manifestWith, ggufArtifactFor, writeManifestFixture } from '../../fixtures/manifest';

async function tempDir(t: import('node:test').TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pajamas-manifest-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('a complete manifest validates against the shipped schema', () => {
  const m = manifestWith([ggufArtifactFor('/x/a.gguf', Buffer.from('a'))]);
  assert.equal(validateManifest(m, 'm.json'), m);
});

test('schema errors name the field', () => {
  const bad = (mutate: (m: any) => void) => {
    const m: any = structuredClone(manifestWith([ggufArtifactFor('/x/a.gguf', Buffer.from('a'))]));
    mutate(m);
    return () => validateManifest(m, '/tmp/m.json');
  };
  assert.throws(
    bad((m) => delete m.artifacts[0].sha256),
    (e: unknown) => e instanceof FormatError && /\/artifacts\/0/.test(e.message) && /m\.json/.test(e.message),
  );
  assert.throws(
    bad((m) => (m.artifacts[0].target = 'Q9_Z')),
    FormatError,
  );
  assert.throws(
    bad((m) => (m.manifestVersion = 2)),
    /manifestVersion/,
  );
  assert.throws(
    bad((m) => (m.extra = 1)),
    /"extra"/,
  );
  assert.throws(
    bad((m) => (m.artifacts[0].createdAt = 'yesterday')),
    /createdAt/,
  );
  assert.throws(
    bad((m) => (m.architecture.family = 'giant')),
    /architecture\/family/,
  );
});

test('writeManifest refuses an invalid manifest and leaves nothing behind', async (t) => {
  const dir = await tempDir(t);
  const m: any = manifestWith([]);
  m.model = '';
  await assert.rejects(writeManifest(path.join(dir, 'manifest.json'), m), FormatError);
  assert.deepEqual(await readdir(dir), []);
  await writeManifest(path.join(dir, 'manifest.json'), manifestWith([]));
  assert.equal((await readManifest(dir)).manifest.model, 'tiny');
});

test('readManifest: missing file, broken JSON', async (t) => {
  const dir = await tempDir(t);
  await assert.rejects(readManifest(dir), UsageError);
  await writeFile(path.join(dir, 'manifest.json'), '{"model": ');
  await assert.rejects(readManifest(dir), (e: unknown) => e instanceof FormatError && /not valid JSON/.test(e.message));
});

test('verify re-checks sizes and hashes and reports each problem', async (t) => {
  const dir = await tempDir(t);
  const { manifestPath, artifactPath } = await writeManifestFixture(dir);
  assert.deepEqual((await verifyManifest(manifestPath)).problems, []);

  await writeFile(artifactPath, 'GGUF fixture bytez'); // same size, different content
  const changed = await verifyManifest(manifestPath);
  assert.equal(changed.problems.length, 1);
  assert.match(changed.problems[0]!.message, /sha256 is [0-9a-f]{64}, the manifest says/);

  await writeFile(artifactPath, 'short');
  assert.match((await verifyManifest(manifestPath)).problems[0]!.message, /size is 5 bytes/);

  await rm(artifactPath);
  assert.equal((await verifyManifest(manifestPath)).problems[0]!.message, 'missing');
  assert.ok((await readFile(manifestPath, 'utf8')).includes('tiny-Q4_K_M-pajamas.gguf'));
});
