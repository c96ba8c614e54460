#!/usr/bin/env node
// Where a generated token's time goes on the path `run` and `chat` use: a model host (the built
// dist/model-host.js) generating through its loop, text streamed back here. For each configuration
// it prints tokens/s and microseconds per token, and with --perf the host's on-CPU profile by
// library and its context switches per token (Linux perf), so the overhead is measured, not guessed.
// A development probe for issue 14 (`npm run bench -- runtime` is the benchmark).
//
//   node esbuild.mjs && node scripts/profile/runtime-overhead.mjs --model m.gguf [--threads 1]
//        [--n-gen 128] [--reps 5] [--loop raw|chat] [--perf] [--json]
//
// The host's environment decides the configuration, e.g.
//   PAJAMAS_LLAMA_BINDING=prebuilt|local   which binding the host loads
//   PAJAMAS_EVAL_ON_CALLING_THREAD=0|1     the local binding's patch (decode and sample on the JS thread)
//   UV_THREADPOOL_SIZE=1|2|4, OMP_WAIT_POLICY=passive|active
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { flag, option } from '../bench/lib/options.mjs';

const require = createRequire(import.meta.url);
require('tsx/cjs/api').register();
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const { ModelHost } = require(path.join(root, 'src/core/runtime/model-host/client.ts'));
const { readGgufHeader } = require(path.join(root, 'src/core/formats/gguf.ts'));

const model = option('model');
if (!model) throw new Error('--model <file.gguf> is required');
const threads = Number(option('threads', '1'));
const nGen = Number(option('n-gen', '128'));
const reps = Number(option('reps', '5'));
const loop = option('loop', 'raw');
const vocabSize = (await readGgufHeader(model)).metadata.get('tokenizer.ggml.tokens').value.length;

const host = await ModelHost.start({ gpu: 'cpu', log: (l) => process.stderr.write(`${l}\n`) });
try {
  await host.request(
    { type: 'load', modelPath: model, contextSize: 2048, placement: 'cpu', threads, batchSize: 512, flashAttention: 'auto' },
    { what: 'loading', loading: model },
  );
  const generate = () =>
    loop === 'chat'
      ? host.request(
          { type: 'chat', messages: [{ role: 'user', content: 'Tell me a long story.' }], gen: { maxTokens: nGen, temperature: 0 } },
          { what: 'chat', onText: () => {} },
        )
      : host.request({ type: 'bench-tg', tokens: nGen, reps: 1, vocabSize }, { what: 'tg', onText: () => {} });
  await generate(); // warm-up
  const perf = flag('perf') ? startPerf(host.pid) : null;
  let tokens = 0;
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < reps; r++) {
    const reply = await generate();
    tokens += reply.tokens ?? nGen;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const profile = perf ? await perf.stop(tokens) : null;
  const result = {
    loop,
    threads,
    binding: host.device.binding.kind,
    env: {
      UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? '(host default)',
      PAJAMAS_EVAL_ON_CALLING_THREAD: process.env.PAJAMAS_EVAL_ON_CALLING_THREAD ?? '(host default)',
      OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? '(default)',
    },
    tokens,
    tgPerSecond: tokens / seconds,
    usPerToken: (seconds / tokens) * 1e6,
    profile,
  };
  if (flag('json')) console.log(JSON.stringify(result));
  else console.log(JSON.stringify(result, null, 2));
} finally {
  await host.close();
}

/** perf record (on-CPU samples of every thread of the host) and perf stat (context switches) while the timed part runs. */
function startPerf(pid) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pajamas-perf-'));
  const data = path.join(dir, 'perf.data');
  const statFile = path.join(dir, 'stat.txt');
  const record = spawn('perf', ['record', '-F', '999', '-g', '-p', String(pid), '-o', data], { stdio: 'ignore' });
  const stat = spawn('perf', ['stat', '-e', 'task-clock,context-switches,cpu-migrations', '-p', String(pid), '-o', statFile], {
    stdio: 'ignore',
  });
  return {
    async stop(tokens) {
      const exited = (child) => new Promise((resolve) => child.on('exit', resolve));
      record.kill('SIGINT');
      stat.kill('SIGINT');
      await Promise.all([exited(record), exited(stat)]);
      const report = spawnSync('perf', ['report', '-i', data, '--no-children', '--sort', 'dso', '--stdio', '-q'], { encoding: 'utf8' });
      const byLibrary = report.stdout
        .split('\n')
        .map((l) => /^\s*([\d.]+)%\s+(\S+)/.exec(l))
        .filter(Boolean)
        .slice(0, 8)
        .map((m) => `${m[1]}% ${m[2]}`);
      const symbols = spawnSync('perf', ['report', '-i', data, '--no-children', '--sort', 'dso,sym', '--stdio', '-q', '-g', 'none'], {
        encoding: 'utf8',
      });
      const topSymbols = symbols.stdout
        .split('\n')
        .map((l) => /^\s*([\d.]+)%\s+(\S+)\s+\[.\]\s+(.*)$/.exec(l))
        .filter(Boolean)
        .slice(0, Number(option('symbols', '15')))
        .map((m) => `${m[1]}% ${m[2]} ${m[3].trim().slice(0, 90)}`);
      const statText = readFileSync(statFile, 'utf8');
      const count = (name) =>
        Number(/([\d,.]+)\s+/.exec(statText.split('\n').find((l) => l.includes(name)) ?? '')?.[1]?.replace(/,/g, '') ?? NaN);
      rmSync(dir, { recursive: true, force: true });
      return {
        onCpuByLibrary: byLibrary,
        topSymbols,
        cpuMsPerToken: count('task-clock') / tokens,
        contextSwitchesPerToken: count('context-switches') / tokens,
        migrationsPerToken: count('cpu-migrations') / tokens,
      };
    },
  };
}
