import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CliIo } from '../../../src/cli/io';
import { formatStatus, toolsCommand } from '../../../src/cli/commands/tools';
import { UsageError } from '../../../src/core/errors';
import { LLAMA_TOOLS } from '../../../src/core/llamacpp/tools';
import { fakeBinDir, tempDir, toolsIn } from './fake-tools';

function captureIo(): { io: CliIo; out: string[]; json: unknown[]; log: string[] } {
  const out: string[] = [];
  const json: unknown[] = [];
  const log: string[] = [];
  const io: CliIo = {
    out: (t) => out.push(t),
    json: (v) => json.push(v),
    log: (l) => log.push(l),
    job: () => ({ log: (l) => log.push(l) }),
    onInterrupt: () => () => {},
  };
  return { io, out, json, log };
}

test('--json prints {"release", "tools": {name: path}} for a user directory', async (t) => {
  const dir = fakeBinDir(t);
  const { io, json, out } = captureIo();
  assert.equal(await toolsCommand.run(['--json', '--llama-bin-dir', dir], io), 0);
  assert.equal(out.length, 0);
  assert.equal(json.length, 1);
  const doc = json[0] as { release: string; tools: Record<string, string>; source: string; binDir: string; built: boolean };
  assert.equal(doc.release, '0.4.0-dev');
  assert.deepEqual(doc.tools, toolsIn(dir).tools);
  assert.equal(doc.source, 'bin-dir');
  assert.equal(doc.built, true);
});

test('text output lists release and the path of every tool; --build with a user directory builds nothing', async (t) => {
  const dir = fakeBinDir(t);
  const { io, out, log } = captureIo();
  assert.equal(await toolsCommand.run(['--build', '--llama-bin-dir', dir], io), 0);
  assert.match(out[0]!, /^llama\.cpp 0\.4\.0-dev \(commit 80fb11a, user-provided\)\n/);
  for (const name of LLAMA_TOOLS) assert.ok(out[0]!.includes(`${dir}/${name}`), name);
  assert.ok(log.some((l) => /nothing to build/.test(l)));
});

test('not built: the text says how to build', () => {
  const text = formatStatus({
    available: false,
    release: 'v0.4.0',
    commit: 'a'.repeat(40),
    flavour: 'native',
    dir: '/c/llama.cpp/v0.4.0-native',
    reason: 'not built (/c/llama.cpp/v0.4.0-native)',
  });
  assert.match(text, /^llama\.cpp v0\.4\.0 \(commit aaaaaaa\): not built; run pajamas tools --build\n/);
  assert.equal(text.split('\n').filter((l) => l.endsWith('not built')).length, LLAMA_TOOLS.length);
});

test('a bad --llama-bin-dir is a usage error', async (t) => {
  const { io } = captureIo();
  await assert.rejects(
    toolsCommand.run(['--llama-bin-dir', tempDir(t)], io),
    (e: unknown) => e instanceof UsageError && /llama-quantize is missing/.test(e.message),
  );
});
