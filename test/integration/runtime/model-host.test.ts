/**
 * The model host as a process: a native abort inside it (simulated with SIGABRT, and real: a GGUF
 * that makes llama.cpp fail an assertion while loading) becomes a clear error in the parent, which
 * carries on; `pajamas chat` whose host dies mid-reply exits with the message and leaves no
 * process behind; a host whose parent dies goes too.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { FailureError, FormatError } from '../../../src/core/errors';
import { ModelHost } from '../../../src/core/runtime/model-host/client';
import { tempDir } from '../../fixtures/bytes';
import { projectRoot, sharedAsset } from '../../helpers/env';
import { THREADS, buildCli, pajamasChild } from './helpers';

const STORIES = 'models/stories260K-gguf/stories260K.gguf';
const load = (modelPath: string) => ({ type: 'load', modelPath, contextSize: 2048, placement: 'cpu', threads: Number(THREADS) }) as const;

function isAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pid: number | undefined, what: string): Promise<void> {
  for (let i = 0; i < 200 && isAlive(pid); i++) await delay(50);
  assert.ok(!isAlive(pid), `${what} (pid ${pid}) is still running`);
}

/** A copy of stories260K whose u32 metadata value `key` is replaced (the key must exist, stored as u32). */
function withU32(src: string, dir: string, key: string, value: number): string {
  const bytes = readFileSync(src);
  const name = Buffer.from(key);
  for (let i = 0; i + 8 + name.length < bytes.length; i++) {
    if (bytes.readBigUInt64LE(i) !== BigInt(name.length) || !bytes.subarray(i + 8, i + 8 + name.length).equals(name)) continue;
    const typeAt = i + 8 + name.length;
    assert.equal(bytes.readUInt32LE(typeAt), 4, `${key} is a u32`);
    bytes.writeUInt32LE(value, typeAt + 4);
    const out = path.join(dir, `${key}-${value}.gguf`);
    writeFileSync(out, bytes);
    return out;
  }
  throw new Error(`${key} not found in ${src}`);
}

describe('model host', () => {
  before(() => buildCli());

  it('a native abort while generating is a clear error; the parent carries on', async (t) => {
    const file = sharedAsset(t, STORIES);
    if (!file) return;
    const host = await ModelHost.start({ gpu: 'cpu' });
    t.after(() => host.kill());
    assert.equal(host.device.device, 'cpu');
    await host.request(load(file), { what: 'loading', loading: file });
    let killed = false;
    const reply = host.request(
      { type: 'complete', prompt: 'Once upon a time', gen: { maxTokens: 1500, temperature: 0 } },
      {
        what: `generating with ${file}`,
        onText: () => {
          if (!killed) host.kill('SIGABRT');
          killed = true;
        },
      },
    );
    await assert.rejects(
      reply,
      (e: unknown) =>
        e instanceof FailureError && /model process was ended by SIGABRT \(a native crash\) while generating with/.test(e.message),
    );
    await waitGone(host.pid, 'the host');
    await assert.rejects(host.request({ type: 'close' }, { what: 'closing' }), /SIGABRT/, 'later requests get the same error');
    await host.close();
  });

  it('llama.cpp aborting on a damaged file while loading is a FormatError naming the file and quoting the assertion', async (t) => {
    const src = sharedAsset(t, STORIES);
    if (!src) return;
    // feed_forward_length 0: llama.cpp's loader asserts on the zero-sized FFN tensors (GGML_ASSERT, SIGABRT).
    const damaged = withU32(src, tempDir(t), 'llama.feed_forward_length', 0);
    const host = await ModelHost.start({ gpu: 'cpu' });
    t.after(() => host.kill());
    await assert.rejects(
      host.request(load(damaged), { what: `loading ${damaged}`, loading: damaged }),
      (e: unknown) =>
        e instanceof FormatError &&
        e.message.startsWith(`${damaged}: llama.cpp ended the model process with SIGABRT while loading this file`) &&
        /GGML_ASSERT/.test(e.message),
    );
    await waitGone(host.pid, 'the host');
  });

  it('a host whose parent dies goes too', async (t) => {
    if (!sharedAsset(t, STORIES)) return;
    const script = `require('tsx/cjs/api').register();
      const { ModelHost } = require(${JSON.stringify(path.join(projectRoot, 'src/core/runtime/model-host/client.ts'))});
      ModelHost.start({ gpu: 'cpu' }).then((h) => { process.stdout.write(h.pid + '\\n'); setInterval(() => {}, 1000); });`;
    const parent = spawn(process.execPath, ['-e', script], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'inherit'] });
    t.after(() => parent.kill('SIGKILL'));
    const hostPid = await new Promise<number>((resolve) => parent.stdout.once('data', (b: Buffer) => resolve(Number(b.toString()))));
    assert.ok(isAlive(hostPid));
    parent.kill('SIGKILL');
    await waitGone(hostPid, 'the orphaned host');
  });
});

describe('pajamas chat with a model host that dies', () => {
  it('exits with a clear error and leaves no process behind', async (t) => {
    const file = sharedAsset(t, STORIES);
    if (!file) return;
    if (process.platform !== 'linux') return t.skip('finds the host through /proc (Linux)');
    const chat = pajamasChild(['chat', file, '--temperature', '0', '--max-tokens', '1500', '--context-size', '2048', '--threads', THREADS]);
    t.after(() => chat.child.kill('SIGKILL'));
    await chat.waitFor(() => chat.stderr().includes('/reset forgets'), 'the chat to start');
    const children = readFileSync(`/proc/${chat.child.pid}/task/${chat.child.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
    const hostPid = children.find((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('model-host.js'));
    assert.ok(hostPid, `a model host among the CLI's children ${children.join(', ')}`);
    chat.child.stdin.write('Tell me a long story.\n');
    await chat.waitFor(() => chat.stdout().length > 20, 'the reply to stream');
    process.kill(hostPid, 'SIGABRT');
    assert.equal(await chat.exited, 1, chat.stderr());
    assert.match(chat.stderr(), /pajamas chat: the model process was ended by SIGABRT \(a native crash\) while generating with/);
    assert.doesNotMatch(chat.stderr(), /internal error|\n\s+at /, 'no stack trace');
    await waitGone(hostPid, 'the host');
  });
});
