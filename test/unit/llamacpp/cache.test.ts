import { patchesHash } from '../../../src/core/llamacpp/patches';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  type BuildMarker,
  MARKER_VERSION,
  buildFlavour,
  cacheKey,
  cacheLayout,
  checkBuildMarker,
  cmakeFlags,
  llamaCacheRoot,
  markerToolPaths,
  resolveBuildSettings,
  writeBuildMarker,
} from '../../../src/core/llamacpp/cache';
import { LLAMA_TOOLS } from '../../../src/core/llamacpp/tools';
import { FAKE_COMMIT, tempDir, writeScript } from './fake-tools';

test('cache root: PAJAMAS_CACHE_DIR, then XDG_CACHE_HOME, then ~/.cache', () => {
  assert.equal(llamaCacheRoot({ PAJAMAS_CACHE_DIR: '/x/cache', XDG_CACHE_HOME: '/xdg' }, '/home/u'), '/x/cache');
  assert.equal(llamaCacheRoot({ XDG_CACHE_HOME: '/xdg' }, '/home/u'), '/xdg/llama-pajamas');
  assert.equal(llamaCacheRoot({}, '/home/u'), '/home/u/.cache/llama-pajamas');
  assert.equal(llamaCacheRoot({ PAJAMAS_CACHE_DIR: 'rel' }, '/home/u'), path.resolve('rel'));
});

test('build settings: options win over the environment; native by default', () => {
  assert.deepEqual(resolveBuildSettings({}, { PAJAMAS_CACHE_DIR: '/c' }), { root: '/c', native: true, extraCmakeArgs: [] });
  for (const off of ['0', 'off', 'FALSE', 'no']) assert.equal(resolveBuildSettings({}, { PAJAMAS_LLAMA_NATIVE: off }).native, false, off);
  assert.equal(resolveBuildSettings({}, { PAJAMAS_LLAMA_NATIVE: '1' }).native, true);
  assert.equal(resolveBuildSettings({ native: true }, { PAJAMAS_LLAMA_NATIVE: '0' }).native, true);
  assert.deepEqual(resolveBuildSettings({}, { PAJAMAS_LLAMA_CMAKE_ARGS: ' -DGGML_AVX512=OFF  -DX=1 ' }).extraCmakeArgs, [
    '-DGGML_AVX512=OFF',
    '-DX=1',
  ]);
  assert.equal(resolveBuildSettings({ cacheDir: '/o' }, { PAJAMAS_CACHE_DIR: '/c' }).root, '/o');
});

test('the flavour separates native, portable and extra-flag builds', () => {
  // The source patch set is part of the flavour: a build without the current patches is another build.
  assert.equal(buildFlavour({ native: true, extraCmakeArgs: [] }), `native-p${patchesHash()}`);
  assert.equal(buildFlavour({ native: false, extraCmakeArgs: [] }), `portable-p${patchesHash()}`);
  const a = buildFlavour({ native: true, extraCmakeArgs: ['-DA=1'] });
  const b = buildFlavour({ native: true, extraCmakeArgs: ['-DA=2'] });
  assert.match(a, /^native-p[0-9a-f]{8}-[0-9a-f]{8}$/);
  assert.notEqual(a, b);
});

test('cmake flags: static, Release, no OpenSSL, no tests, server without its web UI download', () => {
  const flags = cmakeFlags({ native: false, extraCmakeArgs: ['-DEXTRA=ON'] });
  for (const f of [
    '-DCMAKE_BUILD_TYPE=Release',
    '-DBUILD_SHARED_LIBS=OFF',
    '-DGGML_NATIVE=OFF',
    '-DLLAMA_OPENSSL=OFF',
    '-DLLAMA_BUILD_TESTS=OFF',
    '-DLLAMA_BUILD_SERVER=ON',
    '-DLLAMA_USE_PREBUILT_UI=OFF',
    '-DLLAMA_BUILD_UI=OFF',
  ]) {
    assert.ok(flags.includes(f), f);
  }
  assert.equal(flags.at(-1), '-DEXTRA=ON');
  assert.ok(cmakeFlags({ native: true, extraCmakeArgs: [] }).includes('-DGGML_NATIVE=ON'));
});

test('cache layout: one directory per release and flavour, lock beside it', () => {
  const layout = cacheLayout('/c', 'v0.4.0', 'native');
  assert.equal(layout.dir, '/c/llama.cpp/v0.4.0-native');
  assert.equal(layout.bin, '/c/llama.cpp/v0.4.0-native/bin');
  assert.equal(layout.src, '/c/llama.cpp/v0.4.0-native/src');
  assert.equal(layout.build, '/c/llama.cpp/v0.4.0-native/build');
  assert.equal(layout.marker, '/c/llama.cpp/v0.4.0-native/complete.json');
  assert.equal(layout.lock, '/c/llama.cpp/v0.4.0-native.lock');
  assert.equal(cacheKey('release/../../x y', 'native'), 'release_.._.._x_y-native');
});

const EXPECT = { release: 'v0.4.0', commit: FAKE_COMMIT, flavour: 'native' };

async function completeBuild(root: string): Promise<ReturnType<typeof cacheLayout>> {
  const layout = cacheLayout(root, 'v0.4.0', 'native');
  for (const tool of LLAMA_TOOLS) writeScript(path.join(layout.bin, tool), 'exit 0');
  const marker: BuildMarker = {
    markerVersion: MARKER_VERSION,
    ...EXPECT,
    tools: markerToolPaths(layout, 'linux'),
    cmakeFlags: cmakeFlags({ native: true, extraCmakeArgs: [] }),
    generator: 'Ninja',
    builtAt: new Date().toISOString(),
  };
  await writeBuildMarker(layout, marker);
  return layout;
}

test('a complete build passes the marker check with absolute tool paths', async (t) => {
  const layout = await completeBuild(tempDir(t));
  const check = await checkBuildMarker(layout, EXPECT);
  assert.ok(check.ok, check.ok ? '' : check.reason);
  assert.equal(check.tools['llama-quantize'], path.join(layout.bin, 'llama-quantize'));
  assert.equal(check.marker.tools['llama-server'], 'bin/llama-server');
});

test('no directory means not built; a directory without marker is an incomplete build', async (t) => {
  const layout = cacheLayout(tempDir(t), 'v0.4.0', 'native');
  let check = await checkBuildMarker(layout, EXPECT);
  assert.ok(!check.ok && /^not built/.test(check.reason));
  // An interrupted build leaves binaries but no marker: it must not be used.
  for (const tool of LLAMA_TOOLS) writeScript(path.join(layout.bin, tool), 'exit 0');
  check = await checkBuildMarker(layout, EXPECT);
  assert.ok(!check.ok && /incomplete build/.test(check.reason), check.ok ? '' : check.reason);
});

test('markers of another source, a garbled marker or a missing tool fail the check', async (t) => {
  const layout = await completeBuild(tempDir(t));
  const fail = async (expect: typeof EXPECT, pattern: RegExp) => {
    const check = await checkBuildMarker(layout, expect);
    assert.ok(!check.ok, 'expected the check to fail');
    assert.match(check.reason, pattern);
  };
  await fail({ ...EXPECT, commit: 'b'.repeat(40) }, /built from commit 80fb11a.*expected bbbb/);
  await fail({ ...EXPECT, release: 'v0.5.0' }, /release v0\.4\.0, expected v0\.5\.0/);
  await fail({ ...EXPECT, flavour: 'portable' }, /flavour native, expected portable/);

  chmodSync(path.join(layout.bin, 'llama-imatrix'), 0o644);
  await fail(EXPECT, /llama-imatrix is missing or not executable/);
  chmodSync(path.join(layout.bin, 'llama-imatrix'), 0o755);
  rmSync(path.join(layout.bin, 'llama-server'));
  await fail(EXPECT, /llama-server is missing/);

  for (const garbage of [
    '{"markerVersion": 1',
    '[]',
    JSON.stringify({ markerVersion: 99, ...EXPECT }),
    JSON.stringify({ markerVersion: 1, ...EXPECT, tools: {} }),
  ]) {
    writeFileSync(layout.marker, garbage);
    await fail(EXPECT, /unreadable build marker/);
  }
});

test('the marker is written whole: no temporary file is left behind', async (t) => {
  const root = tempDir(t);
  const layout = await completeBuild(root);
  mkdirSync(layout.dir, { recursive: true });
  const { readdirSync } = await import('node:fs');
  assert.deepEqual(readdirSync(layout.dir).sort(), ['bin', 'complete.json']);
});
