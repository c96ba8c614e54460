#!/usr/bin/env node
// Benchmark of `pajamas quantize`'s own overhead: on a generated ~1B-parameter Llama-shaped bf16
// model (scripts/bench/lib/llama-hf-model.mjs), the wall time of the CLI process beyond the
// conversion and the llama.cpp tools' own run time, as a share of the tools' time (goal: < 5%).
// The conversion and tool times come from the pipeline's own "timings:" log line
// (src/core/pipeline/timings.ts); the split of the overhead (hashing, process start) comes from
// the time stamps of the progress lines on stderr, so it is approximate (+- one progress step).
// The source safetensors are in the page cache (just generated, then read once), as they would
// be right after a download.
//
//   node scripts/bench/pipeline.mjs [--params 1e9] [--imatrix off|auto|both] [--calibration-chars 1200]
//        [--runs 1] [--dir <scratch dir>] [--model <generated model dir>] [--keep] [--verbose] [--json]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { generateLlamaModel } from './lib/llama-hf-model.mjs';
import { parseTimingsLine } from './lib/timings-line.mjs';
import { flag, option } from './lib/options.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const params = Number(option('params', '1e9'));
const imatrixModes = { off: ['off'], auto: ['auto'], both: ['off', 'auto'] }[option('imatrix', 'off')];
const calibrationChars = Number(option('calibration-chars', '1200'));
const runs = Number(option('runs', '1'));
const scratch = option('dir', os.tmpdir());
const reuseModel = option('model', null);
const json = flag('json');
const verbose = flag('verbose');
const log = (line) => (json ? process.stderr : process.stdout).write(`${line}\n`);
const GOAL_PCT = 5;

if (!imatrixModes) {
  console.error('--imatrix takes off, auto or both');
  process.exit(2);
}

// ---- one CLI run, its stderr time-stamped line by line ------------------------------------------

/** Samples the 1-minute load average while a run goes on. */
function loadSampler() {
  const samples = [os.loadavg()[0]];
  const timer = setInterval(() => samples.push(os.loadavg()[0]), 5000);
  return () => {
    clearInterval(timer);
    samples.push(os.loadavg()[0]);
    return { start: samples[0], mean: samples.reduce((a, b) => a + b, 0) / samples.length, max: Math.max(...samples) };
  };
}

function runCli(argv) {
  spawnSync('sync');
  return new Promise((resolve, reject) => {
    const stopLoad = loadSampler();
    const started = performance.now();
    const child = spawn(process.execPath, [path.join(root, 'bin', 'pajamas.js'), ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines = [];
    child.stdout.resume();
    readline.createInterface({ input: child.stderr }).on('line', (text) => {
      lines.push({ t: (performance.now() - started) / 1000, text });
      if (verbose) process.stderr.write(`  | ${text}\n`);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const wallSeconds = (performance.now() - started) / 1000;
      const load = stopLoad();
      if (code !== 0)
        reject(
          new Error(
            `pajamas ${argv.join(' ')} exited with ${code}:\n${lines
              .slice(-20)
              .map((l) => l.text)
              .join('\n')}`,
          ),
        );
      else resolve({ wallSeconds, lines, load });
    });
  });
}

// ---- reading the run's stderr -----------------------------------------------------------------

function parseTimings(lines) {
  const line = lines.find((l) => l.text.startsWith('timings: '));
  const timings = line && parseTimingsLine(line.text);
  if (!timings)
    throw new Error(
      `no parsable "timings:" line in the output of pajamas quantize (see src/core/pipeline/timings.ts):\n${line?.text ?? '(none)'}`,
    );
  return timings;
}

/**
 * Seconds spent in each progress step, from the first line of the step to its last (the CLI
 * prints a progress line when a step starts, every 2 s, and when it completes).
 */
function stepSeconds(lines, accept) {
  let seconds = 0;
  let current = null;
  const close = () => {
    if (current) seconds += current.last - current.first;
    current = null;
  };
  for (const { t, text } of lines) {
    const step = /^(.*?) \[[#-]+\]/.exec(text)?.[1];
    if (step === undefined) continue;
    if (!current || current.step !== step) {
      close();
      if (accept(step)) current = { step, first: t, last: t };
    } else current.last = t;
  }
  close();
  return seconds;
}

function breakdown(lines, timings, wallSeconds) {
  const isHash = (s) => s.startsWith('hash ');
  const sourceHash = stepSeconds(lines, (s) => isHash(s) && s !== 'hash F16 intermediate' && !s.startsWith('hash quantize'));
  const intermediateHash = stepSeconds(lines, (s) => s === 'hash F16 intermediate');
  const outputHash = stepSeconds(lines, (s) => s.startsWith('hash quantize'));
  const processStart = lines.find((l) => l.text.startsWith('detect '))?.t ?? 0;
  const processOutside = wallSeconds - timings.total;
  return {
    sourceHash,
    intermediateHash,
    outputHash,
    processStartToDetect: processStart,
    processOutsideQuantize: processOutside,
    rest: timings.other - sourceHash - intermediateHash - outputHash,
  };
}

// ---- the benchmark ----------------------------------------------------------------------------

function calibrationFile(dir) {
  const calDir = path.join(root, 'data', 'calibration');
  const text = readdirSync(calDir)
    .filter((f) => f.endsWith('.txt'))
    .sort()
    .map((f) => readFileSync(path.join(calDir, f), 'utf8'))
    .join('\n\n');
  const file = path.join(dir, 'calibration.txt');
  writeFileSync(file, text.slice(0, calibrationChars));
  return file;
}

async function benchOnce(model, work, imatrix) {
  const out = path.join(work, `out-imatrix-${imatrix}`);
  rmSync(out, { recursive: true, force: true });
  const argv = [
    'quantize',
    model,
    '-o',
    out,
    '--formats',
    'gguf',
    '--targets',
    'Q4_K_M',
    '--strategy',
    'pajamas,naive',
    '--imatrix',
    imatrix,
    '--no-eval',
  ];
  if (imatrix === 'auto') argv.push('--calibration', calibrationFile(work));
  const { wallSeconds, lines, load } = await runCli(argv);
  writeFileSync(path.join(work, `quantize-imatrix-${imatrix}.log`), lines.map((l) => `${l.t.toFixed(3)} ${l.text}`).join('\n'));
  const timings = parseTimings(lines);
  const overhead = wallSeconds - timings.convert - timings.tools - timings.mlx - timings.evaluate;
  const outputs = readdirSync(out)
    .filter((f) => f.endsWith('.gguf'))
    .map((f) => ({ name: f, bytes: statSync(path.join(out, f)).size }));
  rmSync(out, { recursive: true, force: true });
  return {
    imatrix,
    wallSeconds,
    timings,
    overheadSeconds: overhead,
    overheadPctOfTools: (100 * overhead) / timings.tools,
    insideOtherPctOfTools: (100 * timings.other) / timings.tools,
    breakdown: breakdown(lines, timings, wallSeconds),
    load,
    outputs,
  };
}

const f = (x, d = 2) => x.toFixed(d);

function printRun(r) {
  const b = r.breakdown;
  log(
    `\n--imatrix ${r.imatrix} (load average 1 min: ${f(r.load.start)} at start, mean ${f(r.load.mean)}, max ${f(r.load.max)} on ` +
      `${os.cpus().length} cores)`,
  );
  const rows = [
    ['wall time of `pajamas quantize`', r.wallSeconds],
    ['  conversion (HF bf16 -> F16 GGUF)', r.timings.convert],
    ...r.timings.toolRuns.map((t) => [`  ${t.step}`, t.seconds]),
    ['  llama.cpp tools, total', r.timings.tools],
    ['  overhead = wall - conversion - tools', r.overheadSeconds],
    ['    hashing the source files (~)', b.sourceHash],
    ['    hashing the F16 intermediate (~)', b.intermediateHash],
    ['    hashing the GGUF outputs (~)', b.outputHash],
    ['    node start, CLI, exit (outside quantizeModel)', b.processOutsideQuantize],
    ['    the rest (detect, plan, checks, manifest, ...)', b.rest],
  ];
  for (const [label, s] of rows) log(`${label.padEnd(52)} ${f(s).padStart(8)} s`);
  const verdict = r.overheadPctOfTools < GOAL_PCT ? 'meets' : 'misses';
  log(
    `overhead / tools = ${f(r.overheadPctOfTools, 1)}% (goal < ${GOAL_PCT}%: ${verdict} it; inside quantizeModel alone ` +
      `${f(r.insideOtherPctOfTools, 1)}%)`,
  );
}

if (!existsSync(path.join(root, 'dist', 'cli.js'))) {
  const b = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: root, stdio: 'inherit' });
  if (b.status !== 0) process.exit(1);
}
mkdirSync(scratch, { recursive: true });
const work = mkdtempSync(path.join(scratch, 'pajamas-bench-pipeline-'));
const keep = flag('keep') || reuseModel !== null;
try {
  let model = reuseModel && path.resolve(reuseModel);
  let info;
  if (!model) {
    model = path.join(work, 'llama-1b');
    mkdirSync(model);
    log(`generating a ${f(params / 1e9)}B-parameter bf16 Llama-shaped model in ${model} ...`);
    info = generateLlamaModel(model, { params });
  } else {
    const config = JSON.parse(readFileSync(path.join(model, 'config.json'), 'utf8'));
    const files = readdirSync(model)
      .filter((x) => x.endsWith('.safetensors'))
      .map((x) => path.join(model, x));
    info = { files, layers: config.num_hidden_layers, params: null, bytes: files.reduce((n, x) => n + statSync(x).size, 0) };
  }
  log(`model: ${info.layers} layers${info.params ? `, ${f(info.params / 1e9, 3)}B parameters` : ''}, ${f(info.bytes / 1e9)} GB bf16`);
  spawnSync('sh', ['-c', `cat ${info.files.map((x) => `'${x}'`).join(' ')} > /dev/null`]); // warm the page cache
  const results = [];
  for (let i = 0; i < runs; i++) {
    for (const imatrix of imatrixModes) {
      log(`run ${i + 1}/${runs}, --imatrix ${imatrix} ...`);
      const r = await benchOnce(model, work, imatrix);
      results.push(r);
      printRun(r);
    }
  }
  const summary = {
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memoryGb: Math.round(os.totalmem() / 2 ** 30) },
    model: { layers: info.layers, parameters: info.params, bf16Bytes: info.bytes },
    command:
      `node bin/pajamas.js quantize <model> -o <out> --formats gguf --targets Q4_K_M --strategy pajamas,naive --imatrix ` +
      `<off|auto> --no-eval`,
    goal: `(wall - conversion - llama.cpp tools) / tools < ${GOAL_PCT}%`,
    runs: results,
    worstOverheadPct: Math.max(...results.map((r) => r.overheadPctOfTools)),
  };
  if (json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  else log(`\nworst overhead / tools over ${results.length} run(s): ${f(summary.worstOverheadPct, 1)}% (goal < ${GOAL_PCT}%)`);
  if (keep) log(`kept ${work}`);
} finally {
  if (!keep) rmSync(work, { recursive: true, force: true });
}
