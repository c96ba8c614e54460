import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { FormatError, UnsupportedError, UsageError } from '../../../src/core/errors';
import { cachedSha256 } from '../../../src/core/runtime/hash-cache';
import { checkArtifactFiles, loadRuntimeTarget } from '../../../src/core/runtime/target';
import { tempDir } from '../../fixtures/bytes';
import { T, buildGguf } from '../../fixtures/gguf-builder';
import { ggufArtifactFor, manifestWith, sha256, writeManifestFixture } from '../../fixtures/manifest';

const LLAMA_KVS = [
  { key: 'general.architecture', type: T.str, value: 'llama' },
  { key: 'llama.block_count', type: T.u32, value: 2 },
  { key: 'llama.embedding_length', type: T.u32, value: 64 },
  { key: 'llama.attention.head_count', type: T.u32, value: 4 },
  { key: 'llama.attention.head_count_kv', type: T.u32, value: 2 },
  { key: 'llama.context_length', type: T.u32, value: 2048 },
];

const rejectsWith =
  (pattern: RegExp, type: new (...args: never[]) => Error = FormatError) =>
  (e: unknown) =>
    e instanceof type && pattern.test((e as Error).message);

describe('loadRuntimeTarget', () => {
  it('reads a manifest (file or folder) and resolves artifact paths against its folder', async (t) => {
    const dir = tempDir(t);
    const { manifestPath, artifactPath, manifest } = await writeManifestFixture(dir);
    for (const input of [manifestPath, dir]) {
      const target = await loadRuntimeTarget(input);
      assert.equal(target.kind, 'manifest');
      assert.equal(target.path, manifestPath);
      assert.equal(target.model, 'tiny');
      assert.deepEqual(target.architecture, manifest.architecture);
      assert.equal(target.artifacts.length, 1);
      const [a] = target.artifacts;
      assert.equal(a!.path, artifactPath);
      assert.equal(a!.format, 'gguf');
      assert.equal(a!.bpw, 4.8);
      assert.deepEqual(a!.files, [
        {
          path: artifactPath,
          sizeBytes: manifest.artifacts[0]!.sizeBytes,
          sha256: (manifest.artifacts[0] as { sha256: string }).sha256,
          field: 'artifacts[0]',
        },
      ]);
    }
  });

  it('carries quality into the choice (KLD, gate)', async (t) => {
    const dir = tempDir(t);
    const bytes = Buffer.from('weights');
    writeFileSync(path.join(dir, 'm.gguf'), bytes);
    const quality = {
      text: { name: 'w', sha256: sha256('w') },
      contextSize: 512,
      ppl: 10,
      kldMean: 0.02,
      kldP99: 0.2,
      top1: 0.9,
      pplRatio: 1.01,
      gate: { thresholdPct: 5, passed: false },
      evaluatedAt: '2026-11-26T10:00:00.000Z',
    };
    writeFileSync(
      path.join(dir, 'manifest.json'),
      JSON.stringify(manifestWith([ggufArtifactFor(path.join(dir, 'm.gguf'), bytes, { quality })])),
    );
    const [a] = (await loadRuntimeTarget(dir)).artifacts;
    assert.equal(a!.kldMean, 0.02);
    assert.equal(a!.gatePassed, false);
  });

  it('reads a bare GGUF: one artifact described by its header', async (t) => {
    const file = path.join(tempDir(t), 'model-Q8_0.gguf');
    writeFileSync(file, buildGguf({ kvs: LLAMA_KVS }));
    const target = await loadRuntimeTarget(file);
    assert.equal(target.kind, 'gguf');
    assert.equal(target.manifest, null);
    assert.equal(target.architecture.modelType, 'llama');
    assert.equal(target.architecture.numKeyValueHeads, 2);
    assert.equal(target.artifacts[0]!.id, 'model-Q8_0');
    assert.equal(target.artifacts[0]!.sizeBytes, statSync(file).size);
    assert.deepEqual(target.artifacts[0]!.files, []);
  });

  it('rejects what is neither, naming the problem', async (t) => {
    const dir = tempDir(t);
    await assert.rejects(loadRuntimeTarget(path.join(dir, 'nope.gguf')), rejectsWith(/does not exist/, UsageError));
    writeFileSync(path.join(dir, 'weights.bin'), 'not a model');
    await assert.rejects(
      loadRuntimeTarget(path.join(dir, 'weights.bin')),
      rejectsWith(/neither a GGUF file nor a manifest.json/, UsageError),
    );
    await assert.rejects(loadRuntimeTarget(dir), rejectsWith(/no manifest.json at/, UsageError));
  });

  it('a manifest that fails the schema names the field', async (t) => {
    const dir = tempDir(t);
    const { manifestPath, manifest } = await writeManifestFixture(dir);
    const broken = { ...manifest, artifacts: [{ ...manifest.artifacts[0], sizeBytes: 'big' }] };
    writeFileSync(manifestPath, JSON.stringify(broken));
    await assert.rejects(loadRuntimeTarget(manifestPath), rejectsWith(/\/artifacts\/0\/sizeBytes must be integer/));
    writeFileSync(manifestPath, '{ not json');
    await assert.rejects(loadRuntimeTarget(manifestPath), rejectsWith(/not valid JSON/));
  });

  it('a manifest from a newer version says so', async (t) => {
    const dir = tempDir(t);
    const { manifestPath, manifest } = await writeManifestFixture(dir);
    writeFileSync(manifestPath, JSON.stringify({ ...manifest, manifestVersion: 7 }));
    await assert.rejects(
      loadRuntimeTarget(manifestPath),
      rejectsWith(/manifestVersion 7 was written by a newer Llama-Pajamas/, UnsupportedError),
    );
  });

  it('a manifest without artifacts has nothing to run', async (t) => {
    const dir = tempDir(t);
    writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifestWith([])));
    await assert.rejects(loadRuntimeTarget(dir), rejectsWith(/\/artifacts is empty/));
  });
});

describe('checkArtifactFiles', () => {
  it('passes for matching files, by size and by hash', async (t) => {
    const dir = tempDir(t);
    await writeManifestFixture(dir);
    const target = await loadRuntimeTarget(dir);
    await checkArtifactFiles(target, target.artifacts[0]!, { verify: 'full', hashCacheFile: null });
    await checkArtifactFiles(target, target.artifacts[0]!, { verify: 'size', hashCacheFile: null });
  });

  it('a missing artifact names the field and the file', async (t) => {
    const dir = tempDir(t);
    const { artifactPath } = await writeManifestFixture(dir);
    const target = await loadRuntimeTarget(dir);
    rmSync(artifactPath);
    await assert.rejects(
      checkArtifactFiles(target, target.artifacts[0]!, { hashCacheFile: null }),
      rejectsWith(
        new RegExp(`artifact "tiny-Q4_K_M-pajamas" \\(artifacts\\[0\\]\\.path\\): ${artifactPath.replace(/[.]/g, '\\.')} is missing`),
      ),
    );
  });

  it('a truncated artifact fails the size check, even on the fast path', async (t) => {
    const dir = tempDir(t);
    const { artifactPath } = await writeManifestFixture(dir);
    const target = await loadRuntimeTarget(dir);
    writeFileSync(artifactPath, 'GGUF');
    for (const verify of ['size', 'full'] as const) {
      await assert.rejects(
        checkArtifactFiles(target, target.artifacts[0]!, { verify, hashCacheFile: null }),
        rejectsWith(
          new RegExp(
            String.raw`\(artifacts\[0\]\.sizeBytes\): .* is 4 bytes, the manifest says 18; ` +
              String.raw`the file changed after manifest.json was written \(a stale manifest\)`,
          ),
        ),
      );
    }
  });

  it('a corrupted artifact of the right size fails the hash check only', async (t) => {
    const dir = tempDir(t);
    const { artifactPath } = await writeManifestFixture(dir);
    const target = await loadRuntimeTarget(dir);
    const bytes = readFileSync(artifactPath);
    bytes[5] = bytes[5]! ^ 0xff;
    writeFileSync(artifactPath, bytes);
    await assert.rejects(
      checkArtifactFiles(target, target.artifacts[0]!, { verify: 'full', hashCacheFile: null }),
      rejectsWith(new RegExp(`\\(artifacts\\[0\\]\\.sha256\\): .* has SHA-256 ${sha256(bytes)}, the manifest says`)),
    );
    await checkArtifactFiles(target, target.artifacts[0]!, { verify: 'size', hashCacheFile: null });
  });

  it('MLX artifacts check every file of the folder, named by index', async (t) => {
    const dir = tempDir(t);
    mkdirSync(path.join(dir, 'tiny-mlx-4bit'));
    const files = { 'config.json': Buffer.from('{}'), 'model.safetensors': Buffer.from('tensors') };
    for (const [name, data] of Object.entries(files)) writeFileSync(path.join(dir, 'tiny-mlx-4bit', name), data);
    const mlx = {
      id: 'tiny-mlx-4bit',
      format: 'mlx' as const,
      path: 'tiny-mlx-4bit',
      target: 'mlx-4bit',
      strategy: 'pajamas' as const,
      imatrix: false,
      sizeBytes: 9,
      bpw: 4.5,
      bits: 4,
      groupSize: 64,
      inputsKey: sha256('x'),
      createdAt: '2026-11-26T10:00:00.000Z',
      quality: null,
      files: Object.entries(files).map(([name, data]) => ({ path: name, sizeBytes: data.length, sha256: sha256(data) })),
      tensorBits: { '4': 10 },
    };
    writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifestWith([mlx])));
    const target = await loadRuntimeTarget(dir);
    assert.equal(target.artifacts[0]!.format, 'mlx');
    await checkArtifactFiles(target, target.artifacts[0]!, { hashCacheFile: null });
    writeFileSync(path.join(dir, 'tiny-mlx-4bit', 'model.safetensors'), 'TENSORS');
    await assert.rejects(
      checkArtifactFiles(target, target.artifacts[0]!, { hashCacheFile: null }),
      rejectsWith(/\(artifacts\[0\]\.files\[1\]\.sha256\)/),
    );
  });
});

describe('remembered hashes', () => {
  it('hash a file once while its size and mtime stay the same', async (t) => {
    const dir = tempDir(t);
    const file = path.join(dir, 'a.bin');
    const cache = path.join(dir, 'cache', 'hashes.json');
    writeFileSync(file, 'first');
    const stamp = new Date(1_790_000_000_000); // whole milliseconds, so utimes can restore it exactly
    utimesSync(file, stamp, stamp);
    assert.equal(await cachedSha256(file, cache), sha256('first'));
    // Same size and mtime: the remembered hash is used (this is what makes repeated opens cheap).
    writeFileSync(file, 'FIRST');
    utimesSync(file, stamp, stamp);
    assert.equal(await cachedSha256(file, cache), sha256('first'));
    // A new mtime invalidates it.
    utimesSync(file, stamp, new Date(stamp.getTime() + 5000));
    assert.equal(await cachedSha256(file, cache), sha256('FIRST'));
    // Without a cache file nothing is remembered.
    assert.equal(await cachedSha256(file, null), sha256('FIRST'));
  });

  it('a damaged cache file is ignored', async (t) => {
    const dir = tempDir(t);
    const file = path.join(dir, 'a.bin');
    const cache = path.join(dir, 'hashes.json');
    writeFileSync(file, 'data');
    writeFileSync(cache, '[not an object');
    assert.equal(await cachedSha256(file, cache), sha256('data'));
    assert.equal(Object.keys(JSON.parse(readFileSync(cache, 'utf8')) as object).length, 1);
  });
});
