#!/usr/bin/env node
// Benchmark of the MLX affine quantizer (src/core/mlx/affine-kernel.ts) against the same algorithm
// as a plain C loop (bench/mlx/affine_ref.c, compiled here with gcc -O2), side by side on the same
// random bf16 weights. Reports MB of source (bf16) weights per second: C single-threaded, TypeScript
// single-threaded on the main thread, and TypeScript on the worker pool (wall clock, and per CPU
// second of all its threads, which stays meaningful on a shared machine); checks that all three
// produce identical words, scales and biases.
//
//   node scripts/bench/mlx-affine.mjs [--mb 64] [--repeats 3] [--threads N] [--all] [--json]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { flag, option } from './lib/options.mjs';

// The quantizer is TypeScript (CommonJS under tsx): load it through tsx's require hook.
const require = createRequire(import.meta.url);
require('tsx/cjs/api').register();
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const { quantizeAffine } = require(path.join(root, 'src/core/mlx/affine.ts'));
const { AffinePool, defaultQuantizeThreads } = require(path.join(root, 'src/core/mlx/affine-pool.ts'));

const megabytes = Number(option('mb', 64));
const repeats = Number(option('repeats', 3));
const threads = Number(option('threads', defaultQuantizeThreads()));
const json = flag('json');
const configs = flag('all')
  ? [2, 3, 4, 5, 6, 8].flatMap((bits) => [32, 64, 128].map((groupSize) => ({ bits, groupSize })))
  : [
      { bits: 4, groupSize: 64 },
      { bits: 6, groupSize: 64 },
      { bits: 8, groupSize: 64 },
      { bits: 3, groupSize: 32 },
    ];
const CHUNK_ELEMENTS = 1 << 20; // 2 MB of bf16 per worker task
const log = (line) => (json ? process.stderr : process.stdout).write(`${line}\n`);

function randomBf16(count) {
  // Normal-ish weights (sum of uniforms, sd ~0.02) with a few outliers, as bf16 bit patterns.
  const out = new Uint16Array(count);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  let s = 0x9e3779b9;
  const rnd = () => (s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32;
  for (let i = 0; i < count; i++) {
    f[0] = (rnd() + rnd() + rnd() - 1.5) * 0.04 * (rnd() < 0.001 ? 20 : 1);
    out[i] = (u[0] + 0x7fff + ((u[0] >>> 16) & 1)) >>> 16;
  }
  return out;
}

// Single-threaded runs are timed in CPU time on both sides (the C program uses
// CLOCK_PROCESS_CPUTIME_ID): the machine is shared, and wall time would measure the neighbours.
const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

function best(fn) {
  let t = Infinity;
  let result;
  for (let r = 0; r < repeats; r++) {
    const t0 = cpuSeconds();
    result = fn();
    t = Math.min(t, cpuSeconds() - t0);
  }
  return { seconds: t, result };
}

/**
 * Best wall time, and CPU seconds of all threads (workers included) of that same run. `setup`
 * runs untimed before each run (the writer hands the pool freshly read chunks it can transfer).
 */
async function bestAsync(setup, fn) {
  let t = Infinity;
  let cpu = Infinity;
  let result;
  for (let r = 0; r < repeats; r++) {
    const input = setup();
    const t0 = process.hrtime.bigint();
    const c0 = cpuSeconds();
    result = await fn(input);
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    if (wall < t) {
      t = wall;
      cpu = cpuSeconds() - c0;
    }
  }
  return { seconds: t, cpuSeconds: cpu, result };
}

function concat(parts, Ctor) {
  const out = new Ctor(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const work = mkdtempSync(path.join(os.tmpdir(), 'pajamas-bench-mlx-'));
try {
  const exe = path.join(work, 'affine_ref');
  const cc = spawnSync('gcc', ['-O2', '-o', exe, path.join(root, 'bench/mlx/affine_ref.c'), '-lm'], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`gcc failed (install gcc to run this benchmark):\n${cc.stderr || cc.error}`);
  const count = Math.floor((megabytes * 2 ** 20) / 2 / 128) * 128;
  const weights = randomBf16(count);
  const input = path.join(work, 'weights.bf16');
  writeFileSync(input, weights);
  const sourceMB = (count * 2) / 1e6;
  const pool = new AffinePool(threads);
  const rows = [];
  log(
    `MLX affine quantizer: ${sourceMB.toFixed(1)} MB of bf16 weights, best of ${repeats}, ${os.cpus()[0]?.model ?? 'cpu'}, node ` +
      `${process.version}`,
  );
  log(
    `load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} on ${os.cpus().length} cores`,
  );
  log('1-thread columns: MB per CPU second. Pool: wall-clock MB/s, and MB per CPU second of all its threads.');
  log(`bits group |  C -O2 | TS 1 thread (x C) | TS ${threads} threads wall | per CPU s (x C) | identical`);
  try {
    for (const p of configs) {
      const outFile = path.join(work, 'out.bin');
      const c = spawnSync(exe, [input, String(p.bits), String(p.groupSize), outFile, String(repeats)], { encoding: 'utf8' });
      if (c.status !== 0) throw new Error(`affine_ref failed: ${c.stderr}`);
      const cSeconds = Number(c.stdout.trim());
      const cOut = readFileSync(outFile);
      const single = best(() => quantizeAffine(weights, 'BF16', p));
      const chunks = () => {
        const out = [];
        for (let i = 0; i < count; i += CHUNK_ELEMENTS) out.push(weights.slice(i, Math.min(count, i + CHUNK_ELEMENTS)));
        return out;
      };
      const pooled = await bestAsync(chunks, async (input) => {
        const parts = await Promise.all(input.map((chunk) => pool.quantize(chunk, 'BF16', p, true)));
        return {
          words: concat(
            parts.map((q) => q.words),
            Uint32Array,
          ),
          scales: concat(
            parts.map((q) => q.scales),
            Float32Array,
          ),
          biases: concat(
            parts.map((q) => q.biases),
            Float32Array,
          ),
        };
      });
      const bytesOf = (q) => Buffer.concat([q.words, q.scales, q.biases].map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)));
      const identical = cOut.equals(bytesOf(single.result)) && cOut.equals(bytesOf(pooled.result));
      const row = {
        bits: p.bits,
        groupSize: p.groupSize,
        cMBps: sourceMB / cSeconds,
        tsMBps: sourceMB / single.seconds,
        poolMBps: sourceMB / pooled.seconds,
        poolMBperCpuSecond: sourceMB / pooled.cpuSeconds,
        threads,
        identical,
      };
      row.tsVsC = row.tsMBps / row.cMBps;
      row.poolPerCpuVsC = row.poolMBperCpuSecond / row.cMBps;
      rows.push(row);
      log(
        `${String(p.bits).padStart(4)} ${String(p.groupSize).padStart(5)} | ${row.cMBps.toFixed(0).padStart(6)} | ` +
          `${row.tsMBps.toFixed(0).padStart(10)} (${row.tsVsC.toFixed(2)}) | ${row.poolMBps.toFixed(0).padStart(19)} | ` +
          `${row.poolMBperCpuSecond.toFixed(0).padStart(8)} (${row.poolPerCpuVsC.toFixed(2)}) | ${identical ? 'yes' : 'NO'}`,
      );
    }
  } finally {
    await pool.close();
  }
  if (json)
    process.stdout.write(`${JSON.stringify({ benchmark: 'mlx-affine', sourceMB, repeats, loadavg: os.loadavg(), rows }, null, 2)}\n`);
  if (rows.some((r) => !r.identical)) {
    console.error('TypeScript and C outputs differ');
    process.exitCode = 1;
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
