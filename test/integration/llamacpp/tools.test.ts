import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { CancelledError, ToolError } from '../../../src/core/errors';
import { LLAMA_TOOLS, ensureLlamaTools, findLlamaSource, runLlamaTool, validateLlamaBinDir } from '../../../src/core/llamacpp';
import { isDead } from '../../unit/llamacpp/fake-tools';
import { projectRoot, sharedAsset } from '../../helpers/env';
import { requireLlamaTools } from './require-tools';

const STORIES = 'models/stories260K-gguf/stories260K.gguf';

test('the built tools match the llama.cpp release node-llama-cpp ships', async (t) => {
  const tools = await requireLlamaTools(t);
  if (!tools) return;
  const again = await ensureLlamaTools({ build: 'never' });
  assert.deepEqual(again.tools, tools.tools);
  for (const name of LLAMA_TOOLS) accessSync(tools.tools[name], constants.X_OK);
  if (tools.source === 'cache') {
    const source = await findLlamaSource();
    assert.equal(tools.release, source.release);
    assert.equal(tools.commit, source.commit);
  }
  // The same binaries pass the checks applied to a user-provided directory, and print their commit.
  const asUserDir = await validateLlamaBinDir(tools.binDir, { expectedCommit: tools.source === 'cache' ? tools.commit! : undefined });
  assert.match(asUserDir.commit ?? '', /^[0-9a-f]{7,}$/);
  assert.deepEqual(asUserDir.warnings, []);
});

test('llama-quantize on a missing input is a ToolError quoting its stderr', async (t) => {
  const tools = await requireLlamaTools(t);
  if (!tools) return;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pajamas-quantize-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const input = path.join(dir, 'missing.gguf');
  await assert.rejects(runLlamaTool('llama-quantize', [input, path.join(dir, 'out.gguf'), 'Q4_K_M'], { tools }), (e: unknown) => {
    assert.ok(e instanceof ToolError);
    assert.equal(e.tool, 'llama-quantize');
    assert.equal(e.exitCode, 1);
    assert.ok(
      e.stderrTail.some((l) => l.includes(`failed to open GGUF file '${input}'`)),
      e.stderrTail.join('\n'),
    );
    assert.match(e.message, /^llama-quantize exited with code 1: /);
    return true;
  });
});

test('llama-quantize --help (usage on stdout, exit 1): the ToolError quotes stdout', async (t) => {
  const tools = await requireLlamaTools(t);
  if (!tools) return;
  await assert.rejects(runLlamaTool('llama-quantize', ['--help'], { tools }), (e: unknown) => {
    assert.ok(e instanceof ToolError);
    assert.equal(e.exitCode, 1);
    assert.ok(
      e.stderrTail.some((l) => /Q4_K_M\s*:/.test(l)),
      e.stderrTail.join('\n'),
    );
    return true;
  });
});

test('llama-quantize --dry-run on stories260K lists every tensor with its type', async (t) => {
  const tools = await requireLlamaTools(t);
  const model = sharedAsset(t, STORIES);
  if (!tools || !model) return;
  const result = await runLlamaTool('llama-quantize', ['--dry-run', model, 'Q8_0'], { tools });
  const tensorLines = result.stderr.split('\n').filter((l) => /^\[\s*\d+\/\s*48\] /.test(l));
  assert.equal(tensorLines.length, 48);
  assert.ok(tensorLines.some((l) => /blk\.0\.attn_q\.weight .*-> .*\(q8_0\)/.test(l)));
  assert.match(result.stderr, /quant size\s*=\s*[\d.]+ MiB \([\d.]+ BPW\)/);
});

test('llama-tokenize turns text into token ids with stories260K', async (t) => {
  const tools = await requireLlamaTools(t);
  const model = sharedAsset(t, STORIES);
  if (!tools || !model) return;
  const result = await runLlamaTool('llama-tokenize', ['-m', model, '-p', 'Hello world', '--ids', '--log-disable'], { tools });
  const ids = JSON.parse(result.stdout.trim()) as number[];
  assert.ok(Array.isArray(ids) && ids.length >= 3, result.stdout);
  assert.equal(ids[0], 1, 'starts with BOS');
  assert.ok(ids.every((id) => Number.isInteger(id) && id >= 0 && id < 512));
});

test('aborting a running llama-server stops it', async (t) => {
  const tools = await requireLlamaTools(t);
  const model = sharedAsset(t, STORIES);
  if (!tools || !model) return;
  const controller = new AbortController();
  let listening = false;
  const run = runLlamaTool('llama-server', ['-m', model, '--host', '127.0.0.1', '--port', '0'], {
    tools,
    threads: 1,
    signal: controller.signal,
    timeoutMs: 60_000,
    onStderrLine: (line) => {
      if (/listening on http/.test(line)) {
        listening = true;
        controller.abort();
      }
    },
  });
  await assert.rejects(run, CancelledError);
  assert.ok(listening, 'the server started before it was stopped');
  const left = spawnSync('pgrep', ['-f', `llama-server -t 1 -m ${model}`], { encoding: 'utf8' }).stdout.trim();
  assert.ok(left.split('\n').filter(Boolean).map(Number).every(isDead), `still running: ${left}`);
});

test('pajamas tools --json prints the release and the path of each tool', async (t) => {
  const tools = await requireLlamaTools(t);
  if (!tools) return;
  const r = spawnSync(process.execPath, [path.join(projectRoot, 'bin', 'pajamas.js'), 'tools', '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { release: string; tools: Record<string, string> };
  assert.equal(doc.release, tools.release);
  assert.deepEqual(doc.tools, tools.tools);
});
