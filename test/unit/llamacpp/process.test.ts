import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { CancelledError, ToolError } from '../../../src/core/errors';
import { OUTPUT_TAIL_LINES, formatCommand, killRunningChildren, runProcess, spawnCollect } from '../../../src/core/llamacpp/process';
import { isDead, tempDir, writeScript } from './fake-tools';

test('output is streamed line by line and collected, partial last lines included', async (t) => {
  const script = writeScript(path.join(tempDir(t), 'tool'), 'printf "one\\ntwo\\r\\nthr"; printf "ee"; echo err1 >&2; printf "err2" >&2');
  const out: string[] = [];
  const err: string[] = [];
  const data: string[] = [];
  const outcome = await runProcess('tool', script, [], {
    onStdoutLine: (l) => out.push(l),
    onStderrLine: (l) => err.push(l),
    onData: (stream, text) => data.push(`${stream}:${text}`),
  });
  assert.deepEqual(out, ['one', 'two', 'three']);
  assert.deepEqual(err, ['err1', 'err2']);
  assert.equal(outcome.stdout, 'one\ntwo\r\nthree');
  assert.equal(outcome.stderr, 'err1\nerr2');
  assert.equal(outcome.exitCode, 0);
  assert.ok(data.some((d) => d.startsWith('stdout:')) && data.some((d) => d.startsWith('stderr:')));
});

test('a failing tool gives a ToolError with its exit code and the last stderr lines', async (t) => {
  const script = writeScript(
    path.join(tempDir(t), 'llama-quantize'),
    'echo "data on stdout"; for i in $(seq 1 30); do echo "log line $i" >&2; done; echo >&2; exit 3',
  );
  const error = await runProcess('llama-quantize', script, ['in.gguf', 'out file.gguf', 'Q4_K_M']).then(
    () => assert.fail('expected a ToolError'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof ToolError);
  assert.equal(error.code, 'tool');
  assert.equal(error.tool, 'llama-quantize');
  assert.equal(error.exitCode, 3);
  assert.equal(error.stderrTail.length, OUTPUT_TAIL_LINES);
  assert.equal(error.stderrTail[0], 'log line 11');
  assert.equal(error.stderrTail.at(-1), 'log line 30');
  const [first, ...rest] = error.message.split('\n');
  assert.match(first!, /^llama-quantize exited with code 3: .*llama-quantize in\.gguf 'out file\.gguf' Q4_K_M$/);
  assert.equal(rest.length, OUTPUT_TAIL_LINES);
  assert.equal(rest.at(-1), '  | log line 30');
  assert.deepEqual(error.data, { tool: 'llama-quantize', exitCode: 3, stderrTail: error.stderrTail });
});

test('with nothing on stderr the tail comes from stdout; tailFrom combined interleaves both', async (t) => {
  const quiet = writeScript(path.join(tempDir(t), 'quiet'), 'echo "usage: quiet [options]"; exit 1');
  await assert.rejects(
    runProcess('quiet', quiet, ['--help']),
    (e: unknown) => e instanceof ToolError && e.stderrTail[0] === 'usage: quiet [options]',
  );
  const both = writeScript(
    path.join(tempDir(t), 'both'),
    'echo "[1/2] compiling"; sleep 0.05; echo "ninja: stopped" >&2; sleep 0.05; echo "error: x.cpp:1"; exit 1',
  );
  const outcome = await spawnCollect(both, [], { tailFrom: 'combined' });
  assert.deepEqual(outcome.outputTail, ['[1/2] compiling', 'ninja: stopped', 'error: x.cpp:1']);
});

test('a program that cannot start is a ToolError without exit code', async (t) => {
  const missing = path.join(tempDir(t), 'no-such-tool');
  await assert.rejects(
    runProcess('llama-imatrix', missing, []),
    (e: unknown) =>
      e instanceof ToolError && e.exitCode === null && /llama-imatrix could not be started \(spawn .*ENOENT\)/.test(e.message),
  );
});

test('abort kills the whole process group and rejects with CancelledError', async (t) => {
  const dir = tempDir(t);
  // The fake tool starts a child of its own (as llama-server or a build tool would) and waits.
  const script = writeScript(path.join(dir, 'long-tool'), 'sleep 300 & echo "child $!"; echo "self $$"; wait');
  const controller = new AbortController();
  const pids: number[] = [];
  const started = Date.now();
  const run = spawnCollect(script, [], {
    signal: controller.signal,
    onStdoutLine: (line) => {
      pids.push(Number(line.split(' ')[1]));
      if (pids.length === 2) controller.abort();
    },
  });
  await assert.rejects(run, CancelledError);
  assert.ok(Date.now() - started < 10_000, 'cancelled promptly');
  assert.equal(pids.length, 2);
  for (let i = 0; i < 50 && !pids.every(isDead); i++) await delay(20);
  for (const pid of pids) assert.ok(isDead(pid), `process ${pid} still runs`);
});

test('core installs no exit hook; the host kills running process groups when it goes', async (t) => {
  const dir = tempDir(t);
  const listeners = process.listenerCount('exit');
  const script = writeScript(path.join(dir, 'long-tool'), 'sleep 300 & echo "child $!"; echo "self $$"; wait');
  const pids: number[] = [];
  let bothStarted!: () => void;
  const started = new Promise<void>((resolve) => (bothStarted = resolve));
  const run = spawnCollect(script, [], {
    onStdoutLine: (line) => {
      pids.push(Number(line.split(' ')[1]));
      if (pids.length === 2) bothStarted();
    },
  });
  await started;
  assert.equal(process.listenerCount('exit'), listeners, 'spawning added no exit listener');
  killRunningChildren(); // what the CLI does on exit
  const outcome = await run;
  assert.equal(outcome.signal, 'SIGKILL');
  for (let i = 0; i < 50 && !pids.every(isDead); i++) await delay(20);
  for (const pid of pids) assert.ok(isDead(pid), `process ${pid} still runs`);
});

test('an already aborted signal never starts the program', async (t) => {
  const marker = path.join(tempDir(t), 'ran');
  const script = writeScript(path.join(tempDir(t), 'tool'), `touch ${marker}`);
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(spawnCollect(script, [], { signal: controller.signal }), CancelledError);
  const { existsSync } = await import('node:fs');
  assert.equal(existsSync(marker), false);
});

test('a timeout stops the tool and says so', async (t) => {
  const script = writeScript(path.join(tempDir(t), 'hang'), 'echo waiting >&2; sleep 300');
  const outcome = await spawnCollect(script, [], { timeoutMs: 300 });
  assert.equal(outcome.timedOut, true);
  assert.equal(outcome.exitCode, null);
  await assert.rejects(runProcess('hang', script, [], { timeoutMs: 300 }), /hang did not finish within \d+ s and was stopped/);
});

test('environment overrides reach the tool; undefined removes a variable', async (t) => {
  process.env.PAJAMAS_TEST_REMOVE = 'present';
  t.after(() => delete process.env.PAJAMAS_TEST_REMOVE);
  const script = writeScript(path.join(tempDir(t), 'env'), 'echo "$PAJAMAS_TEST_SET|${PAJAMAS_TEST_REMOVE:-gone}"; pwd');
  const cwd = tempDir(t);
  const outcome = await runProcess('env', script, [], { env: { PAJAMAS_TEST_SET: 'yes', PAJAMAS_TEST_REMOVE: undefined }, cwd });
  const { realpathSync } = await import('node:fs');
  assert.equal(outcome.stdout, `yes|gone\n${realpathSync(cwd)}\n`);
});

test('commands are quoted for messages and shortened when huge', () => {
  assert.equal(
    formatCommand('/bin/llama-quantize', ['--tensor-type', 'attn_v=q6_k', "it's"]),
    `/bin/llama-quantize --tensor-type attn_v=q6_k 'it'\\''s'`,
  );
  assert.ok(formatCommand('x', ['a'.repeat(1000)]).endsWith('...'));
});
