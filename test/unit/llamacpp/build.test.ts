import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type TestContext, test } from 'node:test';
import { FailureError, ToolError, remediesOf } from '../../../src/core/errors';
import type { Progress } from '../../../src/core/job';
import { buildJobs, checkBuildPrerequisites, findExecutable } from '../../../src/core/llamacpp/build';
import { MARKER_FILE, buildFlavour, cacheLayout } from '../../../src/core/llamacpp/cache';
import { ensureLlamaTools, llamaToolsStatus, locateLlamaTools } from '../../../src/core/llamacpp/locate';
import { LLAMA_TOOLS } from '../../../src/core/llamacpp/tools';
import { FAKE_COMMIT, tempDir, writeScript } from './fake-tools';

const FAKE_GIT = `
echo "git $*" >> "$FAKE_LOG"
dir=.
while [ $# -gt 0 ]; do
  case "$1" in
    -C) dir="$2"; shift 2 ;;
    -c) shift 2 ;;
    clone) for a in "$@"; do dest="$a"; done; mkdir -p "$dest"; echo "MIT (fake)" > "$dest/LICENSE"; echo wrong > "$dest/.head"; exit 0 ;;
    checkout) for a in "$@"; do last="$a"; done; echo "$last" > "$dir/.head"; exit 0 ;;
    rev-parse) cat "$dir/.head"; exit 0 ;;
    *) shift ;;
  esac
done`;

// Configure records its arguments; --build prints ninja lines and produces the targets it is asked for.
const FAKE_CMAKE = `
echo "cmake $*" >> "$FAKE_LOG"
if [ "$1" = "--build" ]; then
  build="$2"
  echo "[1/3] Building CXX object src/CMakeFiles/llama.dir/llama-quant.cpp.o"
  if [ -n "$FAKE_FAIL_BUILD" ]; then
    echo "llama-quant.cpp:1:1: error: boom"; echo "ninja: build stopped: subcommand failed." >&2; exit 1
  fi
  sleep "\${FAKE_BUILD_SLEEP:-0}"
  echo "[2/3] Linking CXX static library src/libllama.a"
  mkdir -p "$build/bin"
  seen=; for a in "$@"; do
    if [ -n "$seen" ]; then
      printf '#!/bin/sh\\necho "version: 0.4.0-dev (build 1, commit 80fb11a)"\\n' > "$build/bin/$a"; chmod +x "$build/bin/$a"
    fi
    [ "$a" = "--target" ] && seen=1
  done
  echo "[3/3] Linking CXX executable bin/llama-server"
  exit 0
fi
while [ $# -gt 0 ]; do [ "$1" = "-B" ] && mkdir -p "$2" && echo "$*" > "$2/configured"; shift; done
echo "-- Configuring done"`;

interface FakeWorld {
  root: string;
  cacheDir: string;
  log: string;
  calls(pattern: RegExp): number;
}

function fakeWorld(t: TestContext, withNinja = true): FakeWorld {
  const root = tempDir(t, 'pajamas-build-');
  const bin = path.join(root, 'fakebin');
  writeScript(path.join(bin, 'git'), FAKE_GIT);
  writeScript(path.join(bin, 'cmake'), FAKE_CMAKE);
  writeScript(path.join(bin, 'c++'), 'exit 0');
  writeScript(path.join(bin, withNinja ? 'ninja' : 'make'), 'exit 0');
  // Only the fakes and the few commands they use: the machine's own cmake and ninja must not show.
  for (const tool of ['mkdir', 'cat', 'chmod', 'sleep']) {
    const real = findExecutable(tool);
    if (real) symlinkSync(real, path.join(bin, tool));
  }
  const llama = path.join(root, 'pkg', 'node_modules', 'node-llama-cpp', 'llama');
  mkdirSync(llama, { recursive: true });
  writeFileSync(path.join(llama, 'gitRelease.bundle'), `# v2 git bundle\n${FAKE_COMMIT} HEAD\n\nPACK`);
  writeFileSync(path.join(llama, 'llama.cpp.info.json'), JSON.stringify({ tag: 'v0.4.0' }));
  const log = path.join(root, 'calls.log');
  writeFileSync(log, '');
  const saved = { PATH: process.env.PATH, FAKE_LOG: process.env.FAKE_LOG, CXX: process.env.CXX, BIN: process.env.PAJAMAS_LLAMA_BIN_DIR };
  process.env.PATH = bin;
  process.env.FAKE_LOG = log;
  delete process.env.CXX;
  delete process.env.PAJAMAS_LLAMA_BIN_DIR;
  t.after(() => {
    for (const [k, v] of Object.entries({ PATH: saved.PATH, FAKE_LOG: saved.FAKE_LOG, CXX: saved.CXX, PAJAMAS_LLAMA_BIN_DIR: saved.BIN })) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    delete process.env.FAKE_FAIL_BUILD;
    delete process.env.FAKE_BUILD_SLEEP;
  });
  const calls = (pattern: RegExp) =>
    readFileSync(log, 'utf8')
      .split('\n')
      .filter((l) => pattern.test(l)).length;
  return { root, cacheDir: path.join(root, 'cache'), log, calls };
}

const opts = (w: FakeWorld) => ({ packageRoot: path.join(w.root, 'pkg'), cacheDir: w.cacheDir, native: true, jobs: 2 });

test('missing build tools are named with the command that installs them', (t) => {
  const empty = tempDir(t);
  assert.throws(
    () => checkBuildPrerequisites({ PATH: empty }, 'linux'),
    (e: unknown) =>
      e instanceof FailureError &&
      /needs cmake, a C\+\+ compiler \(c\+\+, g\+\+ or clang\+\+\), git, ninja or make, which are not installed/.test(e.message) &&
      e.message.includes('apt-get install cmake ninja-build g++ git') &&
      /PAJAMAS_LLAMA_BIN_DIR/.test(e.message),
  );
  assert.throws(() => checkBuildPrerequisites({ PATH: empty }, 'darwin'), /xcode-select --install/);
  writeScript(path.join(empty, 'git'), 'exit 0');
  writeScript(path.join(empty, 'cmake'), 'exit 0');
  writeScript(path.join(empty, 'make'), 'exit 0');
  assert.throws(() => checkBuildPrerequisites({ PATH: empty }, 'linux'), /needs a C\+\+ compiler .*, which is not installed/);
  assert.throws(() => checkBuildPrerequisites({ PATH: empty, CXX: 'clang++-99 -O2' }, 'linux'), /the C\+\+ compiler CXX=clang\+\+-99 -O2/);
  writeScript(path.join(empty, 'g++'), 'exit 0');
  assert.equal(checkBuildPrerequisites({ PATH: empty }, 'linux').generator, 'Unix Makefiles');
  writeScript(path.join(empty, 'ninja'), 'exit 0');
  const found = checkBuildPrerequisites({ PATH: empty }, 'linux');
  assert.equal(found.generator, 'Ninja');
  assert.equal(found.cxx, path.join(empty, 'g++'));
  assert.equal(findExecutable('no-such-program', { PATH: empty }), null);
});

test('build jobs: option, then PAJAMAS_LLAMA_BUILD_JOBS, then every core', () => {
  assert.equal(buildJobs({ jobs: 3 }, { PAJAMAS_LLAMA_BUILD_JOBS: '5' }), 3);
  assert.equal(buildJobs({}, { PAJAMAS_LLAMA_BUILD_JOBS: '5' }), 5);
  assert.ok(buildJobs({}, { PAJAMAS_LLAMA_BUILD_JOBS: 'lots' }) >= 1);
});

test('an interrupted build is reported as incomplete, then redone; the marker comes last', async (t) => {
  const w = fakeWorld(t);
  const layout = cacheLayout(w.cacheDir, 'v0.4.0', buildFlavour({ native: true, extraCmakeArgs: [] }));

  const before = await llamaToolsStatus(opts(w));
  assert.ok(!before.available && /^not built/.test(before.reason));
  await assert.rejects(
    ensureLlamaTools({ ...opts(w), build: 'never' }),
    (e: unknown) =>
      e instanceof FailureError &&
      /not built .*build them first/.test(e.message) &&
      remediesOf(e).some((r) => 'action' in r && r.action === 'buildLlamaTools'),
  );

  process.env.FAKE_FAIL_BUILD = '1';
  const failed = await ensureLlamaTools(opts(w)).then(
    () => assert.fail('expected the build to fail'),
    (e: unknown) => e,
  );
  assert.ok(failed instanceof ToolError);
  assert.equal(failed.tool, 'cmake');
  assert.equal(failed.exitCode, 1);
  assert.ok(failed.stderrTail.includes('llama-quant.cpp:1:1: error: boom'), failed.stderrTail.join('|'));
  assert.ok(failed.message.includes(`full log: ${layout.log}`));
  assert.match(readFileSync(layout.log, 'utf8'), /error: boom/);
  assert.equal(existsSync(layout.marker), false);
  assert.equal(existsSync(layout.lock), false, 'the lock is released after a failure');
  const after = await llamaToolsStatus(opts(w));
  assert.ok(!after.available && /incomplete build/.test(after.reason));
  delete process.env.FAKE_FAIL_BUILD;

  const progress: Progress[] = [];
  const tools = await ensureLlamaTools({ ...opts(w), onProgress: (p) => progress.push(p) });
  assert.equal(tools.source, 'cache');
  assert.equal(tools.release, 'v0.4.0');
  assert.equal(tools.commit, FAKE_COMMIT);
  assert.equal(tools.binDir, layout.bin);
  assert.deepEqual(Object.keys(tools.tools), [...LLAMA_TOOLS]);
  for (const p of Object.values(tools.tools)) assert.ok(existsSync(p), p);
  assert.ok(existsSync(path.join(layout.bin, 'LICENSE-llama.cpp')));
  const steps = progress.filter((p) => p.total !== undefined).map((p) => `${p.done}/${p.total}`);
  assert.deepEqual(steps, ['1/3', '2/3', '3/3']);
  assert.equal(progress.at(-1)?.message, 'linking llama-server');

  const marker = JSON.parse(readFileSync(layout.marker, 'utf8'));
  assert.equal(marker.commit, FAKE_COMMIT);
  assert.equal(marker.generator, 'Ninja');
  assert.ok(marker.cmakeFlags.includes('-DLLAMA_USE_PREBUILT_UI=OFF'));
  assert.equal(w.calls(/^git .*clone/), 1, 'the clone of the failed attempt is reused');
  assert.equal(w.calls(/^cmake --build/), 2);
  const configured = readFileSync(path.join(layout.build, 'configured'), 'utf8');
  assert.match(configured, /-G Ninja .*-DGGML_NATIVE=ON/);

  // Built: later calls only read the marker.
  const again = await locateLlamaTools(opts(w));
  assert.deepEqual(again?.tools, tools.tools);
  await ensureLlamaTools(opts(w));
  assert.equal(w.calls(/^cmake --build/), 2);
  assert.deepEqual(
    readFileSync(path.join(w.cacheDir, 'llama.cpp', `v0.4.0-${buildFlavour({ native: true, extraCmakeArgs: [] })}`, MARKER_FILE), 'utf8'),
    readFileSync(layout.marker, 'utf8'),
  );
});

test('force rebuilds; make is used without ninja; two concurrent callers build once', async (t) => {
  const w = fakeWorld(t, false);
  process.env.FAKE_BUILD_SLEEP = '0.3';
  const [a, b] = await Promise.all([ensureLlamaTools(opts(w)), ensureLlamaTools(opts(w))]);
  assert.deepEqual(a.tools, b.tools);
  assert.equal(w.calls(/^cmake --build/), 1);
  assert.equal(w.calls(/^cmake -S .* -G Unix Makefiles/), 1);
  await ensureLlamaTools({ ...opts(w), build: 'force' });
  assert.equal(w.calls(/^cmake --build/), 2);
  assert.equal(w.calls(/^git .*clone/), 1);
});

test('a build from other source or flags is not mistaken for this one', async (t) => {
  const w = fakeWorld(t);
  await ensureLlamaTools(opts(w));
  const portable = await llamaToolsStatus({ ...opts(w), native: false });
  assert.ok(!portable.available && portable.dir.endsWith(`v0.4.0-${buildFlavour({ native: false, extraCmakeArgs: [] })}`));
  writeFileSync(
    path.join(w.root, 'pkg', 'node_modules', 'node-llama-cpp', 'llama', 'gitRelease.bundle'),
    `# v2 git bundle\n${'c'.repeat(40)} HEAD\n\n`,
  );
  const moved = await llamaToolsStatus(opts(w));
  assert.ok(!moved.available && /built from commit 80fb11a.*expected cccc/.test(moved.reason), moved.available ? '' : moved.reason);
});
