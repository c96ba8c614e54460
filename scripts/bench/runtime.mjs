#!/usr/bin/env node
// Runtime speed benchmark: prompt processing (pp) and generation (tg) tokens per second through the
// path `run` and `chat` use (`pajamas bench`: a model host, its generation loop, text streamed back)
// against llama.cpp's natively built `llama-bench`, on the same file, with the same threads, in the
// same run, for two models at 1 and 2 threads, with issue 14's goals (>= 0.95 on the 1.1B model,
// >= 0.8 on pajama-tiny-gqa).
//
// pajama-tiny-gqa (../shared/models) is quantized to Q4_K_M by `pajamas quantize` once. The 1.1B
// model is generated here: a ~1.1B-parameter Llama-shaped network (Llama-3.2-1B's body: 16
// layers, hidden 2048, 32 heads / 8 KV heads, FFN 8192; a 32000-token vocabulary) with random F16
// weights, quantized to Q4_K_M with llama-quantize. Random weights give meaningless text but the
// same speed as trained ones. The tokenizer is stories260K's Llama SentencePiece vocabulary (from
// ../shared), padded with unused tokens to 32000 entries so the embedding and output matrices have
// a realistic size. The generated files are cached (default: <cache>/bench/llama-1b) and reused.
//
//   npm run bench -- runtime [--models 1.1b,tiny-gqa] [--threads 1,2] [--rounds 3] [--reps 5]
//        [--n-prompt 512] [--n-gen 128] [--gpu auto] [--dir DIR] [--json] [--regenerate] [--keep-f16]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { flag, option } from './lib/options.mjs';

const require = createRequire(import.meta.url);
require('tsx/cjs/api').register();
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const { GgufWriter } = require(path.join(root, 'src/core/formats/gguf-writer.ts'));
const { readGgufHeader, GgufValueType } = require(path.join(root, 'src/core/formats/gguf.ts'));
const { ensureLlamaTools, runLlamaTool, llamaCacheRoot } = require(path.join(root, 'src/core/llamacpp/index.ts'));

const json = flag('json');
const log = (line) => process.stderr.write(`${line}\n`);
const sharedRoot = process.env.PAJAMAS_SHARED_DIR ?? path.resolve(root, '..', 'shared');
const tokenizerSource = path.join(sharedRoot, 'models/stories260K-gguf/stories260K.gguf');

/** Llama-3.2-1B's decoder shape with a Llama-2-sized vocabulary: 1.10e9 parameters. */
export const SHAPE = { layers: 16, hidden: 2048, heads: 32, kvHeads: 8, ffn: 8192, vocab: 32000, context: 4096 };

const TOKENIZER_KEYS = [
  'tokenizer.ggml.model',
  'tokenizer.ggml.unknown_token_id',
  'tokenizer.ggml.bos_token_id',
  'tokenizer.ggml.eos_token_id',
];
const TOKEN_TYPE_UNUSED = 5;
const WEIGHT_STD = 0.02;
const POOL_ELEMENTS = 1 << 22; // 8 MiB of random f16 values, sliced at random offsets per chunk
const CHUNK_ELEMENTS = 1 << 20;

function tensorList(s) {
  const headDim = s.hidden / s.heads;
  const kv = s.kvHeads * headDim;
  const list = [
    { name: 'token_embd.weight', shape: [s.hidden, s.vocab], type: 'F16' },
    { name: 'output_norm.weight', shape: [s.hidden], type: 'F32' },
    { name: 'output.weight', shape: [s.hidden, s.vocab], type: 'F16' },
  ];
  for (let i = 0; i < s.layers; i++) {
    const b = `blk.${i}`;
    list.push(
      { name: `${b}.attn_norm.weight`, shape: [s.hidden], type: 'F32' },
      { name: `${b}.attn_q.weight`, shape: [s.hidden, s.hidden], type: 'F16' },
      { name: `${b}.attn_k.weight`, shape: [s.hidden, kv], type: 'F16' },
      { name: `${b}.attn_v.weight`, shape: [s.hidden, kv], type: 'F16' },
      { name: `${b}.attn_output.weight`, shape: [s.hidden, s.hidden], type: 'F16' },
      { name: `${b}.ffn_norm.weight`, shape: [s.hidden], type: 'F32' },
      { name: `${b}.ffn_gate.weight`, shape: [s.hidden, s.ffn], type: 'F16' },
      { name: `${b}.ffn_up.weight`, shape: [s.hidden, s.ffn], type: 'F16' },
      { name: `${b}.ffn_down.weight`, shape: [s.ffn, s.hidden], type: 'F16' },
    );
  }
  return list;
}

/** Normal-ish (sum of three uniforms) f16 bit patterns with standard deviation ~WEIGHT_STD. */
function randomF16Pool(count) {
  const out = new Uint16Array(count);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  let s = 0x2545f491;
  const rnd = () => (s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32;
  for (let i = 0; i < count; i++) {
    f[0] = (rnd() + rnd() + rnd() - 1.5) * 2 * WEIGHT_STD;
    const x = u[0];
    const sign = (x >>> 16) & 0x8000;
    const exp = ((x >>> 23) & 0xff) - 127 + 15;
    // Values this small never overflow f16; tiny ones flush to zero, which is harmless here.
    out[i] = exp <= 0 ? sign : sign | (exp << 10) | ((x >>> 13) & 0x3ff);
  }
  return out;
}

async function writeRandomModel(file) {
  const vocabFile = await readGgufHeader(tokenizerSource);
  const w = new GgufWriter(file);
  const a = (k) => `llama.${k}`;
  w.setString('general.architecture', 'llama');
  w.setString('general.name', 'pajamas-bench-llama-1b (random weights; made by scripts/bench/runtime.mjs)');
  w.setUint32('general.file_type', 1);
  w.setUint32(a('context_length'), SHAPE.context);
  w.setUint32(a('embedding_length'), SHAPE.hidden);
  w.setUint32(a('block_count'), SHAPE.layers);
  w.setUint32(a('feed_forward_length'), SHAPE.ffn);
  w.setUint32(a('attention.head_count'), SHAPE.heads);
  w.setUint32(a('attention.head_count_kv'), SHAPE.kvHeads);
  w.setUint32(a('rope.dimension_count'), SHAPE.hidden / SHAPE.heads);
  w.setFloat32(a('rope.freq_base'), 500000);
  w.setFloat32(a('attention.layer_norm_rms_epsilon'), 1e-5);
  w.setUint32(a('vocab_size'), SHAPE.vocab);
  for (const key of TOKENIZER_KEYS) w.set(key, vocabFile.metadata.get(key));
  const tokens = vocabFile.metadata.get('tokenizer.ggml.tokens').value;
  const scores = vocabFile.metadata.get('tokenizer.ggml.scores').value;
  const types = vocabFile.metadata.get('tokenizer.ggml.token_type').value;
  const pad = SHAPE.vocab - tokens.length;
  w.setArray('tokenizer.ggml.tokens', GgufValueType.STRING, [...tokens, ...Array.from({ length: pad }, (_, i) => `<pajamas_unused_${i}>`)]);
  w.setArray('tokenizer.ggml.scores', GgufValueType.FLOAT32, [...scores, ...new Array(pad).fill(-1e4)]);
  w.setArray('tokenizer.ggml.token_type', GgufValueType.INT32, [...types, ...new Array(pad).fill(TOKEN_TYPE_UNUSED)]);
  const list = tensorList(SHAPE);
  for (const t of list) w.addTensor(t);
  await w.writeHeader();
  const pool = randomF16Pool(POOL_ELEMENTS);
  let state = 12345;
  const nextOffset = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) % (POOL_ELEMENTS - CHUNK_ELEMENTS);
  let params = 0;
  for (const t of list) {
    const n = t.shape.reduce((x, y) => x * y, 1);
    params += n;
    if (t.type === 'F32') {
      await w.writeTensor(t.name, new Float32Array(n).fill(1));
      continue;
    }
    for (let done = 0; done < n; done += CHUNK_ELEMENTS) {
      const count = Math.min(CHUNK_ELEMENTS, n - done);
      const start = nextOffset();
      await w.writeTensorPart(t.name, pool.subarray(start, start + count));
    }
  }
  await w.finish();
  return params;
}

/** The Q4_K_M bench model, generated and quantized on first use. */
export async function benchModel(dir, { regenerate = false, keepF16 = false } = {}) {
  const f16 = path.join(dir, 'llama-1b-F16.gguf');
  const q4 = path.join(dir, 'llama-1b-Q4_K_M.gguf');
  if (regenerate) for (const f of [f16, q4]) rmSync(f, { force: true });
  if (existsSync(q4)) return q4;
  if (!existsSync(tokenizerSource)) throw new Error(`needs ${tokenizerSource} for the tokenizer (set PAJAMAS_SHARED_DIR)`);
  mkdirSync(dir, { recursive: true });
  const tools = await ensureLlamaTools({ log });
  if (!existsSync(f16)) {
    log(`writing ${f16} (random F16 weights, ~2.2 GB)...`);
    const t0 = Date.now();
    const params = await writeRandomModel(f16);
    log(`  ${(params / 1e9).toFixed(3)}B parameters in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
  log(`quantizing to ${q4}...`);
  // Under a temporary name, so an interrupted run never leaves a file that looks finished.
  const partial = `${q4}.partial`;
  await runLlamaTool('llama-quantize', [f16, partial, 'Q4_K_M'], { tools });
  renameSync(partial, q4);
  if (!keepF16) rmSync(f16, { force: true });
  return q4;
}

/** pajama-tiny-gqa (../shared) quantized to Q4_K_M by the project's own pipeline, made once. */
function tinyModel(dir) {
  const manifest = path.join(dir, 'manifest.json');
  const source = path.join(sharedRoot, 'models', 'pajama-tiny-gqa');
  if (!existsSync(manifest)) {
    if (!existsSync(source)) throw new Error(`needs ${source} (set PAJAMAS_SHARED_DIR)`);
    log(`quantizing ${source} to Q4_K_M with pajamas quantize...`);
    const args = [
      'quantize',
      source,
      '-o',
      dir,
      '--formats',
      'gguf',
      '--targets',
      'Q4_K_M',
      '--imatrix',
      'off',
      '--no-eval',
      '--no-stock-check',
    ];
    const r = spawnSync(process.execPath, [path.join(root, 'bin', 'pajamas.js'), ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) throw new Error(`pajamas quantize failed (exit ${r.status})`);
  }
  return manifest;
}

/** One `pajamas bench --json` run. */
function bench(model, threads) {
  const args = ['bench', model, '--threads', String(threads), '--rounds', option('rounds', '3'), '--reps', option('reps', '5'), '--json'];
  for (const name of ['n-prompt', 'n-gen', 'gpu']) if (option(name)) args.push(`--${name}`, option(name));
  log(`pajamas ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [path.join(root, 'bin', 'pajamas.js'), ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`pajamas bench failed (exit ${r.status})`);
  return JSON.parse(r.stdout);
}

/** Goals of issue 14: runtime / llama-bench, for pp and tg. */
const GOALS = { '1.1b': 0.95, 'tiny-gqa': 0.8 };

function table(results) {
  const head = [
    'model',
    'threads',
    'pp pajamas',
    'pp llama-bench',
    'pp ratio',
    'tg pajamas',
    'tg llama-bench',
    'tg ratio',
    'us/token over',
    'goal',
  ];
  const rows = results.map((r) => [
    r.model,
    String(r.threads),
    r.pajamas.pp.toFixed(1),
    r.llamaBench.pp.toFixed(1),
    r.ratio.pp.toFixed(3),
    r.pajamas.tg.toFixed(1),
    r.llamaBench.tg.toFixed(1),
    r.ratio.tg.toFixed(3),
    r.overheadUsPerToken.toFixed(0),
    `>= ${GOALS[r.model]} ${Math.min(r.ratio.pp, r.ratio.tg) >= GOALS[r.model] ? 'met' : 'NOT met'}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells) => cells.map((c, i) => (i < 1 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

async function main() {
  const cache = path.join(llamaCacheRoot(), 'bench');
  const models = option('models', '1.1b,tiny-gqa').split(',');
  const threads = option('threads', '1,2').split(',').map(Number);
  if (!existsSync(path.join(root, 'dist', 'cli.js'))) throw new Error('run "node esbuild.mjs" first (the benchmark runs dist/cli.js)');
  const files = {};
  if (models.includes('1.1b'))
    files['1.1b'] = await benchModel(option('dir', path.join(cache, 'llama-1b')), {
      regenerate: flag('regenerate'),
      keepF16: flag('keep-f16'),
    });
  if (models.includes('tiny-gqa')) files['tiny-gqa'] = tinyModel(path.join(cache, 'pajama-tiny-gqa'));
  const results = [];
  for (const model of models) {
    if (!files[model]) throw new Error(`unknown model "${model}"; use 1.1b and/or tiny-gqa`);
    for (const t of threads) results.push({ model, threads: t, ...bench(files[model], t) });
  }
  if (json) console.log(JSON.stringify(results, null, 2));
  else {
    const d = results[0];
    console.log(table(results));
    console.log(
      `runtime: ${d.device}${d.gpuNames.length ? ` (${d.gpuNames.join(', ')})` : ''}, ${d.binding.kind} binding; ` +
        `llama-bench: ${d.llamaBenchBackends}`,
    );
    console.log(`best of ${option('rounds', '3')} alternating rounds (ABBA) per row, ${option('reps', '5')} repetitions each`);
    for (const w of new Set(results.flatMap((r) => r.warnings))) console.log(`warning: ${w}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error) => {
    process.stderr.write(`${error.stack ?? error}\n`);
    process.exitCode = 1;
  });
}
