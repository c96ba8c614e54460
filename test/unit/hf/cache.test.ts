import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  hubCacheRoot,
  listCachedModels,
  preferredSnapshot,
  readCachedRepo,
  repoFolderName,
  repoIdFromFolderName,
} from '../../../src/core/hf/cache';
import { tempDir } from '../../fixtures/bytes';

const COMMIT_A = 'a'.repeat(40);
const COMMIT_B = 'b'.repeat(40);
const LFS_OID = '403450e234d65943a7dcf7e05a771ce3c92faa84dd07db4ac20f592037a1e4bd';
const GIT_OID_1 = '7cb18dc9bafbfcf74629a4b760af1b160957a83e';
const GIT_OID_2 = 'd7edf6bd2a681fb0175f7735299831ee1b22b812';

/** Writes a blob and links it from a snapshot the way huggingface_hub does: a relative symlink. */
function cacheFile(repoDir: string, commit: string, file: string, blob: string, bytes: string): void {
  const blobPath = path.join(repoDir, 'blobs', blob);
  mkdirSync(path.dirname(blobPath), { recursive: true });
  writeFileSync(blobPath, bytes);
  const pointer = path.join(repoDir, 'snapshots', commit, ...file.split('/'));
  mkdirSync(path.dirname(pointer), { recursive: true });
  symlinkSync(path.relative(path.dirname(pointer), blobPath), pointer);
}

function writeRef(repoDir: string, name: string, commit: string): void {
  const p = path.join(repoDir, 'refs', ...name.split('/'));
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, commit); // huggingface_hub writes the hash without a newline
}

describe('hubCacheRoot', () => {
  const home = '/home/u';
  it('resolves like huggingface_hub: HF_HUB_CACHE, then HF_HOME/hub, then XDG_CACHE_HOME, then ~/.cache', () => {
    assert.equal(hubCacheRoot({ HF_HUB_CACHE: '/c', HF_HOME: '/h' }, home), '/c');
    assert.equal(hubCacheRoot({ HUGGINGFACE_HUB_CACHE: '/legacy', HF_HOME: '/h' }, home), '/legacy');
    assert.equal(hubCacheRoot({ HF_HOME: '/h', XDG_CACHE_HOME: '/x' }, home), '/h/hub');
    assert.equal(hubCacheRoot({ XDG_CACHE_HOME: '/x' }, home), '/x/huggingface/hub');
    assert.equal(hubCacheRoot({}, home), '/home/u/.cache/huggingface/hub');
  });
  it('expands ~ and ignores empty variables', () => {
    assert.equal(hubCacheRoot({ HF_HUB_CACHE: '~/hf' }, home), '/home/u/hf');
    assert.equal(hubCacheRoot({ HF_HUB_CACHE: '', HF_HOME: '~' }, home), '/home/u/hub');
  });
});

describe('repo folder names', () => {
  it('pluralises the type and replaces every / with --, keeping case', () => {
    assert.equal(repoFolderName('julien-c/EsperBERTo-small'), 'models--julien-c--EsperBERTo-small');
    assert.equal(repoFolderName('gpt2'), 'models--gpt2');
    assert.equal(repoIdFromFolderName('models--julien-c--EsperBERTo-small'), 'julien-c/EsperBERTo-small');
    assert.equal(repoIdFromFolderName('models--gpt2'), 'gpt2');
  });
  it('is null for datasets, spaces and stray folders', () => {
    for (const name of ['datasets--glue', 'spaces--a--b', '.locks', 'blobs', 'models--', 'models----x', 'CACHEDIR.TAG']) {
      assert.equal(repoIdFromFolderName(name), null, name);
    }
  });
});

describe('listCachedModels', () => {
  it('is empty when the cache does not exist', async (t) => {
    assert.deepEqual(await listCachedModels({ cacheDir: path.join(tempDir(t), 'nowhere') }), []);
  });

  it('lists the documented layout: shared blobs counted once, refs, subfolders, nested refs', async (t) => {
    const root = tempDir(t);
    const repo = path.join(root, repoFolderName('julien-c/EsperBERTo-small'));
    const weights = 'w'.repeat(1000);
    cacheFile(repo, COMMIT_A, 'README.md', GIT_OID_2, 'old readme');
    cacheFile(repo, COMMIT_A, 'model.safetensors', LFS_OID, weights);
    cacheFile(repo, COMMIT_B, 'README.md', GIT_OID_1, 'new readme!');
    cacheFile(repo, COMMIT_B, 'model.safetensors', LFS_OID, weights);
    cacheFile(repo, COMMIT_B, 'tokenizer/tokenizer.json', 'c'.repeat(40), '{}');
    writeRef(repo, 'main', COMMIT_B);
    writeRef(repo, 'v1.0', COMMIT_A);
    writeRef(repo, 'refs/pr/1', COMMIT_A);
    writeFileSync(path.join(repo, 'blobs', `${'e'.repeat(64)}.incomplete`), 'x'.repeat(77));
    mkdirSync(path.join(repo, '.no_exist', COMMIT_B), { recursive: true });
    writeFileSync(path.join(repo, '.no_exist', COMMIT_B, 'optional.json'), '');
    // Make B the newer snapshot regardless of how fast the files were written.
    const past = new Date(Date.now() - 3600_000);
    for (const blob of [GIT_OID_2, LFS_OID]) utimesSync(path.join(repo, 'blobs', blob), past, past);
    mkdirSync(path.join(root, 'datasets--glue', 'snapshots'), { recursive: true });
    mkdirSync(path.join(root, '.locks', 'models--julien-c--EsperBERTo-small'), { recursive: true });
    writeFileSync(path.join(root, 'CACHEDIR.TAG'), 'Signature: 8a477f597d28d172789f06886806bc55');

    const models = await listCachedModels({ cacheDir: root });
    assert.equal(models.length, 1);
    const [model] = models;
    assert.equal(model!.repoId, 'julien-c/EsperBERTo-small');
    assert.equal(model!.path, repo);
    assert.deepEqual(model!.refs, { main: COMMIT_B, 'v1.0': COMMIT_A, 'refs/pr/1': COMMIT_A });
    assert.deepEqual(model!.warnings, []);
    assert.equal(model!.incompleteBytes, 77);
    // Distinct blobs: 10 + 1000 + 11 + 2 bytes; the weights shared by both snapshots count once.
    assert.equal(model!.sizeBytes, 10 + 1000 + 11 + 2);
    assert.deepEqual(
      model!.snapshots.map((s) => s.commit),
      [COMMIT_B, COMMIT_A],
    );
    const [b, a] = model!.snapshots;
    assert.deepEqual(b!.refs, ['main']);
    assert.deepEqual(a!.refs.sort(), ['refs/pr/1', 'v1.0']);
    assert.equal(b!.path, path.join(repo, 'snapshots', COMMIT_B));
    assert.deepEqual(b!.files, [
      { path: 'README.md', sizeBytes: 11, blob: GIT_OID_1 },
      { path: 'model.safetensors', sizeBytes: 1000, blob: LFS_OID },
      { path: 'tokenizer/tokenizer.json', sizeBytes: 2, blob: 'c'.repeat(40) },
    ]);
    assert.equal(b!.sizeBytes, 1013);
    assert.equal(a!.sizeBytes, 1010);
    assert.equal(preferredSnapshot(model!)?.commit, COMMIT_B);
    assert.equal((await readCachedRepo('julien-c/EsperBERTo-small', { cacheDir: root }))?.sizeBytes, model!.sizeBytes);
    assert.equal(await readCachedRepo('julien-c/absent', { cacheDir: root }), null);
  });

  it('reads plain copies (the no-symlink mode) and warns about dangling links and bad refs without failing', async (t) => {
    const root = tempDir(t);
    const repo = path.join(root, repoFolderName('gpt2'));
    const snap = path.join(repo, 'snapshots', COMMIT_A);
    mkdirSync(snap, { recursive: true });
    writeFileSync(path.join(snap, 'config.json'), '{"a":1}');
    symlinkSync(`../../blobs/${LFS_OID}`, path.join(snap, 'model.safetensors'));
    writeRef(repo, 'main', 'not a hash');
    writeRef(repo, 'dev', COMMIT_B);
    const [model] = await listCachedModels({ cacheDir: root });
    assert.equal(model!.repoId, 'gpt2');
    assert.deepEqual(model!.snapshots[0]!.files, [{ path: 'config.json', sizeBytes: 7, blob: null }]);
    assert.equal(model!.sizeBytes, 7);
    assert.deepEqual(model!.refs, { dev: COMMIT_B });
    assert.deepEqual(model!.warnings.sort(), [
      'refs/dev names bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb, which has no snapshot here',
      'refs/main does not hold a commit hash',
      `snapshots/${COMMIT_A}/model.safetensors links to a missing file`,
    ]);
    // No main ref: the newest (only) snapshot stands for the repo.
    assert.equal(preferredSnapshot(model!)?.commit, COMMIT_A);
  });

  it('lists a repo folder without snapshots (a download that never finished a file) as empty', async (t) => {
    const root = tempDir(t);
    const repo = path.join(root, repoFolderName('org/partial'));
    mkdirSync(path.join(repo, 'blobs'), { recursive: true });
    writeFileSync(path.join(repo, 'blobs', `${LFS_OID}.incomplete`), 'half');
    const [model] = await listCachedModels({ cacheDir: root });
    assert.equal(model!.repoId, 'org/partial');
    assert.deepEqual(model!.snapshots, []);
    assert.equal(model!.sizeBytes, 0);
    assert.equal(model!.incompleteBytes, 4);
    assert.equal(preferredSnapshot(model!), null);
  });
});
