#!/usr/bin/env node
// Benchmark of `pajamas convert` (HF bf16 safetensors -> F16 GGUF) against `cat` of the same
// safetensors files into one new file on the same disk: the same bytes read and written, both with
// a warm page cache, interleaved runs, medians. Also the converter's peak RSS (GNU time's %M) on a
// small and the large generated model, to show memory does not grow with the model.
// `--compare <other checkout>` also runs that checkout's converter (its bin/pajamas.js, built),
// interleaved with this one on the same files, and reports this/that per pair: a before/after
// check of a change that holds up on a loaded machine.
// `--arch gpt-oss` generates gpt-oss-shaped checkpoints instead (MXFP4 experts as released, which
// the converter repacks; gpt-oss-20b's shape for the large one, a half-width one as the small one).
//
//   node scripts/bench/convert.mjs [--arch llama|gpt-oss] [--gb 3] [--runs 3] [--dir <scratch dir>] [--compare <checkout>]
//     [--keep] [--json]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateGptOssModel } from './lib/gpt-oss-hf-model.mjs';
import { generateLlamaModel } from './lib/llama-hf-model.mjs';
import { flag, option } from './lib/options.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const targetGb = Number(option('gb', '3'));
const runs = Number(option('runs', '3'));
const scratch = option('dir', os.tmpdir());
const json = flag('json');
const compare = option('compare', undefined);
const arch = option('arch', 'llama');
if (!['llama', 'gpt-oss'].includes(arch)) throw new Error(`--arch must be llama or gpt-oss, got ${arch}`);
/** gpt-oss with half the width and a quarter of the experts: the small model of `--arch gpt-oss`. */
const HALF_WIDTH = { hidden: 1440, ffn: 1440, experts: 8 };
const log = (line) => (json ? process.stderr : process.stdout).write(`${line}\n`);

// ---- measurements -------------------------------------------------------------------------------

function timed(command, argv) {
  spawnSync('sync');
  const started = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M %U %S', command, ...argv], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.status !== 0) throw new Error(`${command} ${argv.join(' ')} failed: ${r.stderr.slice(-2000)}`);
  const [rssKb, user, sys] = r.stderr.trim().split('\n').at(-1).split(' ').map(Number);
  // CPU seconds hold up better than wall time when other work shares the cores.
  return { seconds, rssMb: rssKb / 1024, cpuSeconds: user + sys };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function bench(dir, files, label) {
  const out = path.join(dir, 'out.bin');
  const gguf = path.join(dir, 'out.gguf');
  spawnSync('sh', ['-c', `cat ${files.map((f) => `'${f}'`).join(' ')} > /dev/null`]); // warm the page cache
  const cat = [];
  const convert = [];
  const convertCpu = [];
  const pairs = [];
  let rss = 0;
  const convertWith = (checkout) => {
    const c = timed(process.execPath, [path.join(checkout, 'bin', 'pajamas.js'), 'convert', dir, '-o', gguf, '--outtype', 'f16']);
    rmSync(gguf, { force: true });
    return c;
  };
  for (let i = 0; i < runs; i++) {
    cat.push(timed('sh', ['-c', `cat ${files.map((f) => `'${f}'`).join(' ')} > '${out}'`]).seconds);
    rmSync(out, { force: true });
    // With --compare, the two converters take turns going first.
    const other = compare && i % 2 === 0 ? convertWith(compare) : undefined;
    const c = convertWith(root);
    const otherAfter = compare && i % 2 === 1 ? convertWith(compare) : undefined;
    convert.push(c.seconds);
    convertCpu.push(c.cpuSeconds);
    rss = Math.max(rss, c.rssMb);
    const that = other ?? otherAfter;
    if (that) pairs.push(c.seconds / that.seconds);
    log(
      `  ${label} run ${i + 1}: cat ${cat.at(-1).toFixed(2)} s, convert ${c.seconds.toFixed(2)} s, convert peak RSS ` +
        `${c.rssMb.toFixed(0)} MB, convert CPU ${c.cpuSeconds.toFixed(2)} s` +
        (that ? `; --compare convert ${that.seconds.toFixed(2)} s (this/that ${pairs.at(-1).toFixed(3)})` : ''),
    );
  }
  const result = {
    catSeconds: median(cat),
    convertSeconds: median(convert),
    convertCpuSeconds: median(convertCpu),
    ratio: median(convert) / median(cat),
    peakRssMb: rss,
    loadAverage: os.loadavg()[0],
  };
  return compare ? { ...result, vsCompare: median(pairs) } : result;
}

if (!existsSync(path.join(root, 'dist', 'cli.js'))) {
  const b = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: root, stdio: 'inherit' });
  if (b.status !== 0) process.exit(1);
}
mkdirSync(scratch, { recursive: true });
const work = mkdtempSync(path.join(scratch, 'pajamas-bench-convert-'));
try {
  const small = path.join(work, 'small');
  const large = path.join(work, 'large');
  mkdirSync(small);
  mkdirSync(large);
  log(`generating a ${targetGb} GB and a smaller ${arch}-shaped model in ${work} ...`);
  const s = arch === 'llama' ? generateLlamaModel(small, { gb: 0.5 }) : generateGptOssModel(small, { layers: 2 }, HALF_WIDTH);
  const l = arch === 'llama' ? generateLlamaModel(large, { gb: targetGb }) : generateGptOssModel(large, { gb: targetGb });
  log(`small: ${s.layers} layers, ${(s.bytes / 1e9).toFixed(2)} GB; large: ${l.layers} layers, ${(l.bytes / 1e9).toFixed(2)} GB`);
  if (runs < 1) {
    log(`--runs 0: models generated in ${work}, nothing measured`);
    process.exit(0);
  }
  const smallResult = bench(small, s.files, 'small');
  const largeResult = bench(large, l.files, 'large');
  const result = {
    arch,
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memoryGb: Math.round(os.totalmem() / 2 ** 30) },
    small: { gb: s.bytes / 1e9, ...smallResult },
    large: { gb: l.bytes / 1e9, ...largeResult },
    goal: 'convert <= 1.25 x cat (warm cache)',
  };
  if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else {
    log(
      `\nlarge ${arch} model (${(l.bytes / 1e9).toFixed(2)} GB -> F16): convert ${largeResult.convertSeconds.toFixed(2)} s vs cat ` +
        `${largeResult.catSeconds.toFixed(2)} s = ${largeResult.ratio.toFixed(2)}x (goal <= 1.25x); convert CPU ` +
        `${largeResult.convertCpuSeconds.toFixed(2)} s; load average ${largeResult.loadAverage.toFixed(1)} on ${os.cpus().length} cores`,
    );
    if (compare)
      log(
        `this converter / ${compare}'s, median of interleaved pairs: large ${largeResult.vsCompare.toFixed(3)}, small ` +
          `${smallResult.vsCompare.toFixed(3)}`,
      );
    log(
      `peak RSS of convert: ${smallResult.peakRssMb.toFixed(0)} MB on ${(s.bytes / 1e9).toFixed(2)} GB, ` +
        `${largeResult.peakRssMb.toFixed(0)} MB on ${(l.bytes / 1e9).toFixed(2)} GB`,
    );
  }
} finally {
  if (!flag('keep')) rmSync(work, { recursive: true, force: true });
}
