import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { CancelledError, ToolError, UsageError } from '../../../src/core/errors';
import { runLlamaTool, withThreads } from '../../../src/core/llamacpp/run';
import { fakeBinDir, toolsIn, writeScript } from './fake-tools';

test('thread count: every core for tools that take -t, unless the caller set one', () => {
  const all = String(os.availableParallelism());
  assert.deepEqual(withThreads('llama-perplexity', ['-m', 'a.gguf']), ['-t', all, '-m', 'a.gguf']);
  assert.deepEqual(withThreads('llama-imatrix', ['-m', 'a.gguf'], 3), ['-t', '3', '-m', 'a.gguf']);
  assert.deepEqual(withThreads('llama-bench', ['--threads', '1']), ['--threads', '1']);
  assert.deepEqual(withThreads('llama-server', ['-t', '2']), ['-t', '2']);
  // llama-quantize takes its thread count as a positional and already defaults to every core.
  assert.deepEqual(withThreads('llama-quantize', ['in.gguf', 'out.gguf', 'Q4_K_M']), ['in.gguf', 'out.gguf', 'Q4_K_M']);
  assert.deepEqual(withThreads('llama-tokenize', ['-m', 'a.gguf']), ['-m', 'a.gguf']);
});

test('runLlamaTool runs the named tool with its arguments and returns its output', async (t) => {
  const dir = fakeBinDir(t, { 'llama-perplexity': 'echo "args: $*"; echo "[1]5.25,[2]4.75," >&2' });
  const stderr: string[] = [];
  const result = await runLlamaTool('llama-perplexity', ['-m', 'x.gguf', '-f', 'text file.txt'], {
    tools: toolsIn(dir),
    threads: 2,
    onStderrLine: (l) => stderr.push(l),
  });
  assert.equal(result.tool, 'llama-perplexity');
  assert.equal(result.path, path.join(dir, 'llama-perplexity'));
  assert.equal(result.stdout, 'args: -t 2 -m x.gguf -f text file.txt\n');
  assert.deepEqual(result.args, ['-t', '2', '-m', 'x.gguf', '-f', 'text file.txt']);
  assert.deepEqual(stderr, ['[1]5.25,[2]4.75,']);
});

test('runLlamaTool finds user binaries through toolsOptions.binDir (validated first)', async (t) => {
  const dir = fakeBinDir(t);
  const result = await runLlamaTool('llama-tokenize', ['-p', 'hi'], { toolsOptions: { binDir: dir } });
  assert.equal(result.stdout, 'args: -p hi\n');
  const broken = fakeBinDir(t, { 'llama-bench': null });
  await assert.rejects(
    runLlamaTool('llama-tokenize', [], { toolsOptions: { binDir: broken } }),
    (e: unknown) => e instanceof UsageError && /llama-bench is missing/.test(e.message),
  );
});

test('a failing tool is a ToolError naming the tool, its exit code and last stderr lines', async (t) => {
  const dir = fakeBinDir(t, {
    'llama-quantize':
      'echo "main: build = 1 (80fb11a)" >&2; echo "llama_model_quantize: failed to quantize: unknown model architecture" >&2; exit 1',
  });
  await assert.rejects(runLlamaTool('llama-quantize', ['in.gguf', 'out.gguf', 'Q4_K_M'], { tools: toolsIn(dir) }), (e: unknown) => {
    assert.ok(e instanceof ToolError);
    assert.equal(e.tool, 'llama-quantize');
    assert.equal(e.exitCode, 1);
    assert.deepEqual(e.stderrTail, ['main: build = 1 (80fb11a)', 'llama_model_quantize: failed to quantize: unknown model architecture']);
    assert.match(e.message, /^llama-quantize exited with code 1: .*llama-quantize in\.gguf out\.gguf Q4_K_M\n {2}\| main: build/);
    return true;
  });
});

test('aborting a running tool cancels it', async (t) => {
  const dir = fakeBinDir(t, { 'llama-imatrix': 'echo started; exec sleep 300' });
  const controller = new AbortController();
  const run = runLlamaTool('llama-imatrix', [], { tools: toolsIn(dir), signal: controller.signal, onStdoutLine: () => controller.abort() });
  await assert.rejects(run, CancelledError);
});

test('stdout data and the working directory reach the caller', async (t) => {
  const dir = fakeBinDir(t);
  const cwd = path.dirname(writeScript(path.join(dir, 'sub', 'x'), 'exit 0'));
  const tool = writeScript(path.join(dir, 'llama-tokenize'), 'pwd');
  const chunks: string[] = [];
  const result = await runLlamaTool('llama-tokenize', [], {
    tools: { ...toolsIn(dir), tools: { ...toolsIn(dir).tools, 'llama-tokenize': tool } },
    cwd,
    onData: (_s, text) => chunks.push(text),
  });
  assert.equal(result.stdout.trim(), cwd);
  assert.equal(chunks.join(''), result.stdout);
});
