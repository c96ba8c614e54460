#!/usr/bin/env node
// Benchmark of the Hub download (downloadHubModel: resolve, listing, parallel transfers, sha256 of
// every byte, blobs and snapshot links) against a plain fetch of the same files to disk with the
// same parallelism (no hashing, no cache layout), both from the test Hub on 127.0.0.1 serving a
// generated two-shard repo from memory. Interleaved runs, medians. Loopback is far faster than any
// real link, so the ratio is the worst case of the download's own overhead.
//
//   node scripts/bench/download.mjs [--mb 256] [--runs 3] [--json]
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { flag, option } from './lib/options.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
// The test Hub and the downloader are TypeScript: run again under tsx.
if (!process.env.PAJAMAS_BENCH_UNDER_TSX) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', ...process.argv.slice(1)], {
    stdio: 'inherit',
    cwd: root,
    env: { ...process.env, PAJAMAS_BENCH_UNDER_TSX: '1' },
  });
  process.exit(r.status ?? 1);
}

const { startHubServer } = await import('../../test/helpers/hub-server.ts');
const { downloadHubModel, DEFAULT_CONCURRENCY } = await import('../../src/core/hf/hub-download.ts');
const { TINY_LLAMA_CONFIG } = await import('../../test/fixtures/configs.ts');

const mb = Number(option('mb', '256'));
const runs = Number(option('runs', '3'));
const json = flag('json');
const log = (line) => (json ? process.stderr : process.stdout).write(`${line}\n`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const shard = Math.floor((mb * 1024 * 1024) / 2);
const files = {
  'config.json': Buffer.from(JSON.stringify({ architectures: ['LlamaForCausalLM'], ...TINY_LLAMA_CONFIG })),
  'model-00001-of-00002.safetensors': randomBytes(shard),
  'model-00002-of-00002.safetensors': randomBytes(shard),
  'model.safetensors.index.json': Buffer.from(
    JSON.stringify({ weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' } }),
  ),
};
const totalBytes = Object.values(files).reduce((n, b) => n + b.length, 0);
const repoId = 'bench/download';
const server = await startHubServer({ repos: [{ repoId, commit: 'b'.repeat(40), files }] });
const scratch = mkdtempSync(path.join(os.tmpdir(), 'pajamas-bench-download-'));

/** The reference: GET every file (following the CDN redirect) into a plain file, same parallelism. */
async function plainFetch(dir) {
  const queue = Object.keys(files);
  const worker = async () => {
    for (let name = queue.shift(); name; name = queue.shift()) {
      const response = await fetch(`${server.url}/${repoId}/resolve/main/${name}`);
      await pipeline(Readable.fromWeb(response.body), createWriteStream(path.join(dir, name.replace(/\//g, '_'))));
    }
  };
  await Promise.all(Array.from({ length: DEFAULT_CONCURRENCY }, worker));
}

async function timed(fn) {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

const plain = [];
const pajamas = [];
try {
  log(`repo: ${(totalBytes / 2 ** 20).toFixed(0)} MiB in two shards, served from memory on ${server.url}; ${runs} runs`);
  for (let i = 0; i < runs; i++) {
    const a = mkdtempSync(path.join(scratch, 'plain-'));
    plain.push(await timed(() => plainFetch(a)));
    rmSync(a, { recursive: true, force: true });
    const cache = mkdtempSync(path.join(scratch, 'cache-'));
    pajamas.push(await timed(() => downloadHubModel(repoId, { hub: { endpoint: server.url, cacheDir: cache } })));
    rmSync(cache, { recursive: true, force: true });
    log(`  run ${i + 1}: plain fetch ${plain.at(-1).toFixed(2)} s, pajamas download ${pajamas.at(-1).toFixed(2)} s`);
  }
} finally {
  await server.close();
  rmSync(scratch, { recursive: true, force: true });
}
const result = {
  machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memoryGb: Math.round(os.totalmem() / 2 ** 30) },
  mib: totalBytes / 2 ** 20,
  plainSeconds: median(plain),
  downloadSeconds: median(pajamas),
  ratio: median(pajamas) / median(plain),
  downloadMiBPerSecond: totalBytes / 2 ** 20 / median(pajamas),
};
if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
else
  log(
    `median: plain fetch ${result.plainSeconds.toFixed(2)} s, pajamas download ${result.downloadSeconds.toFixed(2)} s ` +
      `(${result.downloadMiBPerSecond.toFixed(0)} MiB/s): ratio ${result.ratio.toFixed(2)}`,
  );
