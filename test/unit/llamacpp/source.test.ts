import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { FormatError } from '../../../src/core/errors';
import { bundleHeadCommit, findLlamaSource, parseBundleHeader } from '../../../src/core/llamacpp/source';
import { FAKE_COMMIT, tempDir } from './fake-tools';

const OTHER = 'a'.repeat(40);

test('a v2 bundle header yields its refs and HEAD commit', () => {
  const header = parseBundleHeader(`# v2 git bundle\n${FAKE_COMMIT} HEAD\n${OTHER} refs/tags/v0.4.0\n\nPACK\x00\x01binary`);
  assert.equal(header.version, 2);
  assert.deepEqual(
    header.refs.map((r) => r.name),
    ['HEAD', 'refs/tags/v0.4.0'],
  );
  assert.equal(bundleHeadCommit(header), FAKE_COMMIT);
});

test('a v3 bundle header skips capabilities and prerequisites', () => {
  const header = parseBundleHeader(`# v3 git bundle\n@object-format=sha1\n-${OTHER} shallow\n${FAKE_COMMIT} refs/heads/main\n\n`);
  assert.equal(header.version, 3);
  assert.equal(bundleHeadCommit(header), FAKE_COMMIT); // the only ref
});

test('malformed bundle headers are FormatErrors', () => {
  assert.throws(
    () => parseBundleHeader('PK\x03\x04 a zip file', 'x.bundle'),
    (e: unknown) => e instanceof FormatError && /x\.bundle.*not a git bundle/.test(e.message),
  );
  assert.throws(() => parseBundleHeader(`# v2 git bundle\nnot a ref line\n\n`), /unexpected line/);
  assert.throws(() => parseBundleHeader(`# v2 git bundle\n${FAKE_COMMIT} HEAD\n`), /does not end/);
  assert.throws(() => bundleHeadCommit(parseBundleHeader(`# v2 git bundle\n${FAKE_COMMIT} refs/a\n${OTHER} refs/b\n\n`)), /no HEAD/);
});

function fakePackage(root: string, tag: unknown, bundle = `# v2 git bundle\n${FAKE_COMMIT} HEAD\n\nPACK`): void {
  const llama = path.join(root, 'node_modules', 'node-llama-cpp', 'llama');
  mkdirSync(llama, { recursive: true });
  writeFileSync(path.join(llama, 'gitRelease.bundle'), bundle);
  writeFileSync(path.join(llama, 'llama.cpp.info.json'), JSON.stringify({ tag, llamaCppGithubRepo: 'ggml-org/llama.cpp' }));
}

test('findLlamaSource reads the release tag and the bundle commit, nearest node_modules first', async (t) => {
  const root = tempDir(t);
  fakePackage(root, 'b9999');
  const nested = path.join(root, 'a', 'b');
  mkdirSync(nested, { recursive: true });
  const source = await findLlamaSource(nested);
  assert.equal(source.release, 'b9999');
  assert.equal(source.commit, FAKE_COMMIT);
  assert.equal(source.bundlePath, path.join(root, 'node_modules', 'node-llama-cpp', 'llama', 'gitRelease.bundle'));
});

test('findLlamaSource rejects an info file without a tag', async (t) => {
  const root = tempDir(t);
  fakePackage(root, 42);
  await assert.rejects(findLlamaSource(root), (e: unknown) => e instanceof FormatError && /llama\.cpp\.info\.json.*tag/.test(e.message));
});

test('the project itself ships node-llama-cpp with a bundle', async () => {
  const source = await findLlamaSource();
  assert.match(source.release, /\S/);
  assert.match(source.commit, /^[0-9a-f]{40}$/);
});
