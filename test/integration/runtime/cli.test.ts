/**
 * `pajamas run`, `chat` and `bench` as a user runs them (the built CLI in a child process):
 * stdout carries only the reply (or one JSON document), Ctrl-C (SIGINT) stops a chat reply but
 * not the program, /reset and /exit work, and bad manifests exit with clear messages.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../../fixtures/bytes';
import { ggufArtifactFor, manifestWith } from '../../fixtures/manifest';
import { sharedAsset } from '../../helpers/env';
import { llamaToolsOrSkip } from '../../helpers/llama-tools';
import { THREADS, pajamas, pajamasChild } from './helpers';

const STORIES = 'models/stories260K-gguf/stories260K.gguf';

describe('pajamas run', () => {
  it('--json prints one document; temperature 0 is deterministic', async (t) => {
    const file = sharedAsset(t, STORIES);
    if (!file) return;
    const args = ['run', file, '-p', 'Once upon a time', '--temperature', '0', '--max-tokens', '12', '--threads', THREADS, '--json'];
    const a = pajamas(args);
    assert.equal(a.code, 0, a.stderr);
    const doc = JSON.parse(a.stdout) as { text: string; stopReason: string; tokens: number; artifact: string; backend: string };
    assert.equal(doc.stopReason, 'max-tokens');
    assert.equal(doc.tokens, 12);
    assert.equal(doc.artifact, 'stories260K');
    assert.equal(doc.backend, 'gguf');
    assert.ok(doc.text.length > 10);
    assert.equal((JSON.parse(pajamas(args).stdout) as { text: string }).text, doc.text);
  });

  it('bad input: usage errors exit 2, a manifest with a missing artifact exits 3 naming it', async (t) => {
    const file = sharedAsset(t, STORIES);
    if (!file) return;
    const noPrompt = pajamas(['run', file]);
    assert.equal(noPrompt.code, 2);
    assert.match(noPrompt.stderr, /missing -p "prompt"/);
    const dir = tempDir(t);
    const gguf = path.join(dir, 'stories.gguf');
    writeFileSync(gguf, readFileSync(file));
    writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifestWith([ggufArtifactFor(gguf, readFileSync(gguf))])));
    rmSync(gguf);
    const missing = pajamas(['run', dir, '-p', 'hi', '--threads', THREADS]);
    assert.equal(missing.code, 3, missing.stderr);
    assert.match(missing.stderr, /artifact "stories" \(artifacts\[0\]\.path\): .*stories\.gguf is missing/);
    assert.equal(missing.stdout, '');
  });
});

describe('pajamas chat', () => {
  it('streams replies, Ctrl-C stops a reply but not the program, /reset and /exit work', async (t) => {
    const file = sharedAsset(t, STORIES);
    if (!file) return;
    // Long replies (up to 1500 tokens) so the interrupt lands mid-reply.
    const chat = pajamasChild(['chat', file, '--temperature', '0', '--max-tokens', '1500', '--context-size', '2048', '--threads', THREADS]);
    t.after(() => chat.child.kill('SIGKILL'));
    await chat.waitFor(() => chat.stderr().includes('/reset forgets'), 'the chat to start');

    chat.child.stdin.write('Tell me a long story.\n');
    await chat.waitFor(() => chat.stdout().length > 40, 'the reply to stream');
    chat.child.kill('SIGINT');
    await chat.waitFor(() => chat.stderr().includes('(stopped)'), 'the reply to stop');
    const firstReply = chat.stdout();
    assert.ok(firstReply.length < 3000, 'stopped well before 1500 tokens');
    assert.equal(chat.child.exitCode, null, 'still running after Ctrl-C');

    chat.child.stdin.write('/reset\n');
    await chat.waitFor(() => chat.stderr().includes('(conversation reset)'), 'the reset');
    const before = chat.stdout().length;
    chat.child.stdin.write('Hi\n');
    await chat.waitFor(() => chat.stdout().length > before + 20, 'a second reply');
    chat.child.kill('SIGINT');
    await chat.waitFor(() => chat.stderr().split('(stopped)').length === 3, 'the second reply to stop');
    chat.child.stdin.write('/exit\n');
    assert.equal(await chat.exited, 0, chat.stderr());
    assert.doesNotMatch(chat.stdout(), /reset|stopped/, 'notices go to stderr, replies to stdout');
  });

  it('Ctrl-C at an idle prompt says how to leave; end of input leaves', async (t) => {
    const file = sharedAsset(t, STORIES);
    if (!file) return;
    const chat = pajamasChild(['chat', file, '--threads', THREADS, '--context-size', '256']);
    t.after(() => chat.child.kill('SIGKILL'));
    await chat.waitFor(() => chat.stderr().includes('/reset forgets'), 'the chat to start');
    chat.child.kill('SIGINT');
    await chat.waitFor(() => chat.stderr().split('/exit leaves').length === 3, 'the hint');
    chat.child.stdin.end();
    assert.equal(await chat.exited, 0);
  });
});

describe('pajamas bench', () => {
  it('--json reports the runtime and llama-bench speeds, their ratio and the per-token overhead', async (t) => {
    const file = sharedAsset(t, STORIES);
    if (!file) return;
    if (!(await llamaToolsOrSkip(t))) return;
    const r = pajamas(['bench', file, '--threads', THREADS, '-p', '64', '-n', '16', '-r', '2', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as Record<string, Record<string, number>> & { overheadUsPerToken: number; device: string };
    for (const side of ['pajamas', 'llamaBench', 'ratio']) {
      assert.deepEqual(Object.keys(doc[side]!), ['pp', 'tg']);
      for (const v of Object.values(doc[side]!)) assert.ok(Number.isFinite(v) && v > 0, `${side}: ${v}`);
    }
    assert.ok(Math.abs(doc.ratio!.pp! - doc.pajamas!.pp! / doc.llamaBench!.pp!) < 1e-9);
    assert.ok(Math.abs(doc.overheadUsPerToken - (1e6 / doc.pajamas!.tg! - 1e6 / doc.llamaBench!.tg!)) < 1e-6);
    assert.equal(doc.device, 'cpu');
    assert.match(r.stderr, /llama-bench pp [\d.]+ tg [\d.]+ t\/s/);
  });
});
