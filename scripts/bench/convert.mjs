#!/usr/bin/env node
// Benchmark of `pajamas convert` (HF bf16 safetensors -> F16 GGUF) against `cat` of the same
// safetensors files into one new file on the same disk: the same bytes read and written, both with
// a warm page cache, interleaved runs, medians. Also the converter's peak RSS (GNU time's %M) on a
// small and the large generated model, to show memory does not grow with the model.
//
//   node scripts/bench/convert.mjs [--gb 3] [--runs 3] [--dir <scratch dir>] [--keep] [--json]
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const targetGb = Number(option('gb', '3'));
const runs = Number(option('runs', '3'));
const scratch = option('dir', os.tmpdir());
const json = args.includes('--json');
const log = (line) => (json ? process.stderr : process.stdout).write(`${line}\n`);

// ---- a Llama-shaped bf16 model of about `gb` GB (GQA 8:1), weights ~N(0, 0.02) -------------------

function randomBf16Pattern(count) {
  const out = new Uint16Array(count);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  let s = 0x9e3779b9;
  const rnd = () => ((s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 4294967296);
  for (let i = 0; i < count; i++) {
    f[0] = (rnd() + rnd() + rnd() + rnd() - 2) * 0.035;
    out[i] = u[0] >>> 16;
  }
  return Buffer.from(out.buffer);
}

function modelTensors(layers, H, ff, vocab, kvDim) {
  const t = [['model.embed_tokens.weight', [vocab, H]]];
  for (let i = 0; i < layers; i++) {
    const p = `model.layers.${i}.`;
    t.push([`${p}input_layernorm.weight`, [H]], [`${p}self_attn.q_proj.weight`, [H, H]], [`${p}self_attn.k_proj.weight`, [kvDim, H]]);
    t.push([`${p}self_attn.v_proj.weight`, [kvDim, H]], [`${p}self_attn.o_proj.weight`, [H, H]], [`${p}post_attention_layernorm.weight`, [H]]);
    t.push([`${p}mlp.gate_proj.weight`, [ff, H]], [`${p}mlp.up_proj.weight`, [ff, H]], [`${p}mlp.down_proj.weight`, [H, ff]]);
  }
  t.push(['model.norm.weight', [H]], ['lm_head.weight', [vocab, H]]);
  return t;
}

function writeShard(file, tensors, pattern) {
  const header = {};
  let offset = 0;
  for (const [name, shape] of tensors) {
    const bytes = shape.reduce((a, b) => a * b, 1) * 2;
    header[name] = { dtype: 'BF16', shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let text = JSON.stringify(header);
  text += ' '.repeat((8 - ((8 + Buffer.byteLength(text)) % 8)) % 8);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(Buffer.byteLength(text)));
  const fd = openSync(file, 'w');
  writeSync(fd, prefix);
  writeSync(fd, text);
  let k = 0;
  for (const [, shape] of tensors) {
    let left = shape.reduce((a, b) => a * b, 1) * 2;
    while (left > 0) {
      const start = (k++ * 7919 * 2) % (pattern.length / 2);
      const n = Math.min(left, pattern.length - start);
      writeSync(fd, pattern, start, n);
      left -= n;
    }
  }
  closeSync(fd);
}

function spmTokenizer(vocab) {
  const varint = (n) => {
    const o = [];
    while (n >= 0x80) {
      o.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    o.push(n);
    return o;
  };
  const out = [];
  const piece = (text, score, type) => {
    const body = [0x0a, ...varint(Buffer.byteLength(text)), ...Buffer.from(text), 0x15];
    const f = Buffer.alloc(4);
    f.writeFloatLE(score);
    body.push(...f, 0x18, type);
    out.push(0x0a, ...varint(body.length), ...body);
  };
  piece('<unk>', 0, 2);
  piece('<s>', 0, 3);
  piece('</s>', 0, 3);
  for (let b = 0; b < 256; b++) piece(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, 0, 6);
  for (let i = 259; i < vocab; i++) piece(`\u2581w${i}`, -i, 1);
  out.push(0x12, 0x05, 0x18, 0x02, 0x98, 0x02, 0x01); // TrainerSpec: model_type (3) = BPE, byte_fallback (35) = true
  return Buffer.from(out);
}

function generateModel(dir, gb) {
  const H = 2048;
  const ff = 5632;
  const vocab = 32000;
  const kvDim = 256;
  const perLayer = 2 * (H * H) + 2 * kvDim * H + 3 * H * ff + 2 * H;
  const layers = Math.max(1, Math.round((gb * 1e9) / 2 / perLayer - (2 * vocab * H) / perLayer));
  const all = modelTensors(layers, H, ff, vocab, kvDim);
  const pattern = randomBf16Pattern(32 << 20);
  const half = Math.ceil(all.length / 2);
  const shards = [all.slice(0, half), all.slice(half)];
  const weightMap = {};
  const files = shards.map((tensors, i) => {
    const name = `model-0000${i + 1}-of-00002.safetensors`;
    for (const [t] of tensors) weightMap[t] = name;
    writeShard(path.join(dir, name), tensors, pattern);
    return path.join(dir, name);
  });
  writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  writeFileSync(
    path.join(dir, 'config.json'),
    JSON.stringify({
      architectures: ['LlamaForCausalLM'],
      model_type: 'llama',
      hidden_size: H,
      intermediate_size: ff,
      num_hidden_layers: layers,
      num_attention_heads: 32,
      num_key_value_heads: kvDim / 64,
      max_position_embeddings: 4096,
      rms_norm_eps: 1e-5,
      rope_theta: 10000,
      vocab_size: vocab,
      tie_word_embeddings: false,
      torch_dtype: 'bfloat16',
    }),
  );
  writeFileSync(path.join(dir, 'tokenizer.model'), spmTokenizer(vocab));
  return { files, layers, bytes: files.reduce((n, f) => n + statSync(f).size, 0) };
}

// ---- measurements -------------------------------------------------------------------------------

function timed(command, argv) {
  spawnSync('sync');
  const started = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', command, ...argv], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.status !== 0) throw new Error(`${command} ${argv.join(' ')} failed: ${r.stderr.slice(-2000)}`);
  const rssKb = Number(r.stderr.trim().split('\n').at(-1));
  return { seconds, rssMb: rssKb / 1024 };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function bench(dir, files, label) {
  const out = path.join(dir, 'out.bin');
  const gguf = path.join(dir, 'out.gguf');
  spawnSync('sh', ['-c', `cat ${files.map((f) => `'${f}'`).join(' ')} > /dev/null`]); // warm the page cache
  const cat = [];
  const convert = [];
  let rss = 0;
  for (let i = 0; i < runs; i++) {
    cat.push(timed('sh', ['-c', `cat ${files.map((f) => `'${f}'`).join(' ')} > '${out}'`]).seconds);
    rmSync(out, { force: true });
    const c = timed(process.execPath, [path.join(root, 'bin', 'pajamas.js'), 'convert', dir, '-o', gguf, '--outtype', 'f16']);
    convert.push(c.seconds);
    rss = Math.max(rss, c.rssMb);
    rmSync(gguf, { force: true });
    log(`  ${label} run ${i + 1}: cat ${cat.at(-1).toFixed(2)} s, convert ${c.seconds.toFixed(2)} s, convert peak RSS ${c.rssMb.toFixed(0)} MB`);
  }
  return { catSeconds: median(cat), convertSeconds: median(convert), ratio: median(convert) / median(cat), peakRssMb: rss };
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
  log(`generating a ${targetGb} GB and a 0.5 GB bf16 Llama-shaped model in ${work} ...`);
  const s = generateModel(small, 0.5);
  const l = generateModel(large, targetGb);
  log(`small: ${s.layers} layers, ${(s.bytes / 1e9).toFixed(2)} GB; large: ${l.layers} layers, ${(l.bytes / 1e9).toFixed(2)} GB`);
  if (runs < 1) {
    log(`--runs 0: models generated in ${work}, nothing measured`);
    process.exit(0);
  }
  const smallResult = bench(small, s.files, 'small');
  const largeResult = bench(large, l.files, 'large');
  const result = {
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memoryGb: Math.round(os.totalmem() / 2 ** 30) },
    small: { gb: s.bytes / 1e9, ...smallResult },
    large: { gb: l.bytes / 1e9, ...largeResult },
    goal: 'convert <= 1.25 x cat (warm cache)',
  };
  if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else {
    log(`\nlarge model (${(l.bytes / 1e9).toFixed(2)} GB bf16 -> F16): convert ${largeResult.convertSeconds.toFixed(2)} s vs cat ${largeResult.catSeconds.toFixed(2)} s = ${largeResult.ratio.toFixed(2)}x (goal <= 1.25x)`);
    log(`peak RSS of convert: ${smallResult.peakRssMb.toFixed(0)} MB on ${(s.bytes / 1e9).toFixed(2)} GB, ${largeResult.peakRssMb.toFixed(0)} MB on ${(l.bytes / 1e9).toFixed(2)} GB`);
  }
} finally {
  if (!args.includes('--keep')) rmSync(work, { recursive: true, force: true });
}
