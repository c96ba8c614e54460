// A Llama-shaped bf16 Hugging Face model with random weights (~N(0, 0.02)), written for the
// benchmarks (scripts/bench/convert.mjs, scripts/bench/pipeline.mjs): two safetensors shards with
// an index, config.json, and a valid SentencePiece tokenizer.model (BPE with byte fallback) built
// here, so nothing is copied from elsewhere. Hidden 2048, FFN 5632, 32 heads / 4 KV heads (GQA
// 8:1), vocab 32000, untied output; the layer count follows from the size asked for.
import { closeSync, openSync, statSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';

export const SHAPE = { hidden: 2048, ffn: 5632, vocab: 32000, kvDim: 256, headDim: 64 };

/** Parameters of one decoder layer and of the embedding + output matrices. */
export function llamaParameterCounts(shape = SHAPE) {
  const { hidden: H, ffn, vocab, kvDim } = shape;
  return { perLayer: 2 * H * H + 2 * kvDim * H + 3 * H * ffn + 2 * H, embeddings: 2 * vocab * H };
}
/** The layer count that gives about `params` parameters (at least one layer). */
export function layersForParameters(params, shape = SHAPE) {
  const { perLayer, embeddings } = llamaParameterCounts(shape);
  return Math.max(1, Math.round((params - embeddings) / perLayer));
}

export function randomBf16Pattern(count) {
  const out = new Uint16Array(count);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  let s = 0x9e3779b9;
  const rnd = () => (s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 4294967296;
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
    t.push(
      [`${p}self_attn.v_proj.weight`, [kvDim, H]],
      [`${p}self_attn.o_proj.weight`, [H, H]],
      [`${p}post_attention_layernorm.weight`, [H]],
    );
    t.push([`${p}mlp.gate_proj.weight`, [ff, H]], [`${p}mlp.up_proj.weight`, [ff, H]], [`${p}mlp.down_proj.weight`, [H, ff]]);
  }
  t.push(['model.norm.weight', [H]], ['lm_head.weight', [vocab, H]]);
  return t;
}

/**
 * One safetensors file of `tensors` ([name, shape] for BF16, or [name, shape, dtype, pattern] with
 * its own byte pattern, e.g. U8 MXFP4 codes), data cycled from the patterns.
 */
export function writeShard(file, tensors, pattern) {
  const header = {};
  let offset = 0;
  const entries = tensors.map(([name, shape, dtype = 'BF16', own = pattern]) => {
    const bytes = shape.reduce((a, b) => a * b, 1) * (dtype === 'U8' ? 1 : 2);
    header[name] = { dtype, shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
    return { bytes, pattern: own };
  });
  let text = JSON.stringify(header);
  text += ' '.repeat((8 - ((8 + Buffer.byteLength(text)) % 8)) % 8);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(Buffer.byteLength(text)));
  const fd = openSync(file, 'w');
  writeSync(fd, prefix);
  writeSync(fd, text);
  let k = 0;
  for (const { bytes, pattern: p } of entries) {
    let left = bytes;
    while (left > 0) {
      const start = (k++ * 7919 * 2) % (p.length / 2);
      const n = Math.min(left, p.length - start);
      writeSync(fd, p, start, n);
      left -= n;
    }
  }
  closeSync(fd);
}

/** A SentencePiece model proto: <unk>, <s>, </s>, 256 byte pieces, then "▁wN" words. */
export function spmTokenizer(vocab) {
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

/**
 * Writes the model into `dir` (which must exist). Size: `{gb}` (bf16 bytes) or `{params}` (parameter
 * count); or `{layers}` directly. Returns the shard paths, the layer and parameter counts and bytes.
 */
export function generateLlamaModel(dir, size) {
  const { hidden: H, ffn, vocab, kvDim, headDim } = SHAPE;
  const { perLayer, embeddings } = llamaParameterCounts();
  const layers = size.layers ?? layersForParameters(size.params ?? (size.gb * 1e9) / 2);
  const all = modelTensors(layers, H, ffn, vocab, kvDim);
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
      intermediate_size: ffn,
      num_hidden_layers: layers,
      num_attention_heads: H / headDim,
      num_key_value_heads: kvDim / headDim,
      max_position_embeddings: 4096,
      rms_norm_eps: 1e-5,
      rope_theta: 10000,
      vocab_size: vocab,
      tie_word_embeddings: false,
      torch_dtype: 'bfloat16',
    }),
  );
  writeFileSync(path.join(dir, 'tokenizer.model'), spmTokenizer(vocab));
  const params = layers * perLayer + embeddings + H;
  return { files, layers, params, bytes: files.reduce((n, f) => n + statSync(f).size, 0) };
}
