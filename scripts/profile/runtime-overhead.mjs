#!/usr/bin/env node
// Where a generated token's time goes in node-llama-cpp, in-process (no model host): the time per
// token of a generation loop against the time llama.cpp itself reports for llama_decode
// (llama_perf_context), so the difference is the per-token overhead outside llama.cpp's own work.
// A development probe for issue 14's measurements, not a benchmark (`npm run bench -- runtime` is).
//
//   node scripts/profile/runtime-overhead.mjs --model m.gguf [--threads 2] [--n-gen 128] [--reps 3]
//        [--loop evaluate|chat] [--binding prebuilt|<path to llama-addon.node>] [--json]
//
// Environment knobs are read by the native code at load time, so set them on the command line:
// UV_THREADPOOL_SIZE, OMP_WAIT_POLICY, GOMP_SPINCOUNT.
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { option, flag } from '../bench/lib/options.mjs';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const nlcDir = path.join(root, 'node_modules', 'node-llama-cpp');
const lib = await import('node-llama-cpp');

const model = option('model');
if (!model) throw new Error('--model <file.gguf> is required');
const threads = Number(option('threads', '1'));
const nGen = Number(option('n-gen', '128'));
const reps = Number(option('reps', '3'));
const loop = option('loop', 'evaluate');
const binding = option('binding', 'prebuilt');

const perfLines = [];
const logger = (level, message) => {
  if (/eval time|load time|sample time/.test(message)) perfLines.push(message);
};

async function makeLlama() {
  if (binding === 'prebuilt') return lib.getLlama({ gpu: false, build: 'never', maxThreads: 0, logLevel: lib.LlamaLogLevel.info, logger });
  // A binding built from the bundled source: node-llama-cpp's own loader for local builds (internal API, pinned version).
  const { Llama } = await import(pathToFileURL(path.join(nlcDir, 'dist/bindings/Llama.js')).href);
  const bindings = require(path.resolve(binding));
  const buildMetadata = {
    buildOptions: { customCmakeOptions: {}, gpu: false, llamaCpp: { repo: 'ggml-org/llama.cpp', release: 'local' } },
  };
  return Llama._create({
    bindings,
    bindingPath: path.resolve(binding),
    buildType: 'localBuild',
    buildMetadata,
    logLevel: lib.LlamaLogLevel.info,
    logger,
    maxThreads: 0,
    vramPadding: 0,
    ramPadding: 0,
  });
}

const llama = await makeLlama();
const m = await llama.loadModel({ modelPath: model, gpuLayers: 0 });
const ctx = await m.createContext({ contextSize: 1024, batchSize: 512, threads, flashAttention: 'auto', performanceTracking: true });
const seq = ctx.getSequence();
const bos = m.tokens.bos;

async function timeEvaluate() {
  await seq.clearHistory();
  const t0 = process.hrtime.bigint();
  let count = 0;
  for await (const _t of seq.evaluate([bos], { temperature: 0 })) if (++count >= nGen) break;
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function timeChat() {
  await seq.clearHistory();
  const session = new lib.LlamaChatSession({ contextSequence: seq, autoDisposeSequence: false });
  const t0 = process.hrtime.bigint();
  let count = 0;
  await session.prompt('Tell me a long story.', {
    maxTokens: nGen,
    temperature: 0,
    onToken: (t) => (count += t.length),
  });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  session.dispose({ disposeSequence: false });
  return s * (nGen / Math.max(1, count));
}

const run = loop === 'chat' ? timeChat : timeEvaluate;
await run(); // warm-up
ctx._ctx.printTimings(); // resets the counters
await new Promise((r) => setTimeout(r, 10));
perfLines.length = 0;
let total = 0;
for (let i = 0; i < reps; i++) total += await run();
ctx._ctx.printTimings();
await new Promise((r) => setTimeout(r, 10));
const evalLine = perfLines.find((l) => /^\s*eval time/.test(l) || /[^t] eval time/.test(l)) ?? '';
const match = /eval time =\s*([\d.]+) ms \/\s*(\d+) runs/.exec(evalLine);
const decodeMsPerToken = match ? Number(match[1]) / Number(match[2]) : NaN;
const msPerToken = (total / (reps * nGen)) * 1000;
const result = {
  loop,
  binding: binding === 'prebuilt' ? 'prebuilt' : 'local',
  threads,
  uvThreadpool: process.env.UV_THREADPOOL_SIZE ?? '4',
  omp: process.env.OMP_WAIT_POLICY ?? '-',
  tgPerSecond: 1000 / msPerToken,
  usPerToken: msPerToken * 1000,
  decodeUsPerToken: decodeMsPerToken * 1000,
  overheadUsPerToken: (msPerToken - decodeMsPerToken) * 1000,
};
if (flag('json')) console.log(JSON.stringify(result));
else
  console.log(
    Object.entries(result)
      .map(([k, v]) => `${k}=${typeof v === 'number' ? v.toFixed(1) : v}`)
      .join(' '),
  );
await ctx.dispose();
await m.dispose();
await llama.dispose();
