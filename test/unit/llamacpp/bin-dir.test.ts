import assert from 'node:assert/strict';
import { chmodSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { UsageError, remediesOf } from '../../../src/core/errors';
import { parseLlamaVersion, probeTool, validateLlamaBinDir } from '../../../src/core/llamacpp/bin-dir';
import { LLAMA_TOOLS } from '../../../src/core/llamacpp/tools';
import { FAKE_COMMIT, fakeBinDir, healthyTool, tempDir, writeScript } from './fake-tools';

test('version lines of semver and numbered llama.cpp builds', () => {
  assert.deepEqual(parseLlamaVersion('version: 0.4.0-dev (build 1, commit 80fb11a)\nbuilt with GNU 12.2.0'), {
    release: '0.4.0-dev',
    build: 1,
    commit: '80fb11a',
  });
  assert.deepEqual(parseLlamaVersion('version: 6123 (abc1234)\nbuilt with cc'), { release: 'b6123', build: 6123, commit: 'abc1234' });
  assert.deepEqual(parseLlamaVersion('version: 0 (unknown)'), { release: 'b0', build: 0, commit: null });
  assert.equal(parseLlamaVersion('usage: llama-quantize [options]'), null);
});

test('a directory of working tools is accepted and reports their release', async (t) => {
  const dir = fakeBinDir(t);
  const tools = await validateLlamaBinDir(dir, { expectedCommit: FAKE_COMMIT });
  assert.equal(tools.source, 'bin-dir');
  assert.equal(tools.release, '0.4.0-dev');
  assert.equal(tools.commit, '80fb11a');
  assert.equal(tools.binDir, dir);
  assert.deepEqual(Object.keys(tools.tools), [...LLAMA_TOOLS]);
  assert.equal(tools.tools['llama-server'], path.join(dir, 'llama-server'));
  assert.deepEqual(tools.warnings, []);
});

test('tools that only answer --help (exit 1 with a usage text) are fine', async (t) => {
  const dir = tempDir(t);
  const file = writeScript(path.join(dir, 'llama-simple'), 'echo; echo "example usage:"; echo "  llama-simple -m model.gguf"; exit 1');
  const probe = await probeTool('llama-simple', file);
  assert.equal(probe.problem, null);
  assert.equal(probe.version, null);
});

test('every broken tool is reported at once: missing, not executable, failing, crashing', async (t) => {
  const dir = fakeBinDir(t, {
    'llama-imatrix': null,
    'llama-perplexity':
      'echo "llama-perplexity: error while loading shared libraries: libggml.so: cannot open shared object file" >&2; exit 127',
    'llama-bench': 'kill -SEGV $$',
    'llama-tokenize': 'echo "hello"; exit 0',
  });
  chmodSync(path.join(dir, 'llama-server'), 0o644);
  const error = await validateLlamaBinDir(dir, { origin: 'PAJAMAS_LLAMA_BIN_DIR' }).then(
    () => assert.fail('expected a UsageError'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof UsageError);
  assert.match(error.message, new RegExp(`^PAJAMAS_LLAMA_BIN_DIR ${dir} does not hold working llama.cpp tools`));
  assert.match(error.message, /llama-imatrix is missing/);
  assert.match(error.message, /llama-perplexity exited with code 127 on --help: .*error while loading shared libraries/);
  assert.match(error.message, /llama-bench was killed by SIGSEGV on --help/);
  assert.match(
    error.message,
    /llama-tokenize does not look like a llama.cpp tool \(no version or usage text for --help, exit code 0\): hello/,
  );
  assert.match(error.message, /llama-server is not executable/);
  assert.doesNotMatch(error.message, /llama-quantize|llama-simple/);
  assert.deepEqual(remediesOf(error), [{ option: 'llamaBinDir' }, { action: 'buildLlamaTools' }]);
  const problems = error.data.problems as { tool: string }[];
  assert.deepEqual(problems.map((p) => p.tool).sort(), [
    'llama-bench',
    'llama-imatrix',
    'llama-perplexity',
    'llama-server',
    'llama-tokenize',
  ]);
});

test('a path that is not a directory is a UsageError saying what to point at', async (t) => {
  const file = writeScript(path.join(tempDir(t), 'llama-quantize'), 'exit 0');
  await assert.rejects(
    validateLlamaBinDir(file, { origin: '--llama-bin-dir' }),
    (e: unknown) => e instanceof UsageError && /--llama-bin-dir .* is not a directory; point it at the folder/.test(e.message),
  );
  await assert.rejects(validateLlamaBinDir(path.join(file, 'nope')), UsageError);
});

test('tools from another commit than the runtime, or from mixed builds, earn warnings', async (t) => {
  const other = fakeBinDir(t, Object.fromEntries(LLAMA_TOOLS.map((tool) => [tool, healthyTool('1234abc')])));
  const tools = await validateLlamaBinDir(other, { expectedCommit: FAKE_COMMIT });
  assert.equal(tools.commit, '1234abc');
  assert.equal(tools.warnings.length, 1);
  assert.match(tools.warnings[0]!, /commit 1234abc.*runtime \(node-llama-cpp\) uses commit 80fb11a/);

  const mixed = fakeBinDir(t, { 'llama-server': healthyTool('fedcba9') });
  const mixedTools = await validateLlamaBinDir(mixed, { expectedCommit: FAKE_COMMIT });
  assert.ok(mixedTools.warnings.some((w) => /different llama\.cpp builds/.test(w)));
});

test('a binary changed in place is probed again', async (t) => {
  const dir = fakeBinDir(t);
  await validateLlamaBinDir(dir);
  writeScript(path.join(dir, 'llama-quantize'), 'echo "Illegal instruction" >&2; exit 132');
  await assert.rejects(validateLlamaBinDir(dir), /llama-quantize exited with code 132/);
});
