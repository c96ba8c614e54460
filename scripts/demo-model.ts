/**
 * Writes the demo's fallback model, used when ../shared is absent: a small random-weight Llama
 * (GQA 4:1, rows of 256 so the K-quants apply, 6 layers, ~5M parameters) with a SentencePiece
 * tokenizer, as a Hugging Face folder. Its text is gibberish; it exercises the whole pipeline.
 * Usage: node --import tsx scripts/demo-model.ts <dir>
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { f32ToBf16Array } from '../src/core/formats/float';
import { writeSafetensors, type SafetensorsTensorData } from '../src/core/formats/safetensors-writer';
import { buildSentencePieceModel, llamaStylePieces } from '../test/fixtures/models/sentencepiece-builder';

const HIDDEN = 256;
const FFN = 768;
const LAYERS = 6;
const HEADS = 8;
const KV_HEADS = 2;
const HEAD_DIM = HIDDEN / HEADS;
const WORDS =
  'the of and a to in is was he she it that for on with as his her at by from they we you not but had have this be are were one all'.split(
    ' ',
  );

/** A small deterministic generator (xorshift), so the demo model is the same on every machine. */
function random(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296 - 0.5;
  };
}

function main(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const pieces = llamaStylePieces(['▁', ...WORDS.map((w) => `▁${w}`), ...'abcdefghijklmnopqrstuvwxyz'.split('')]);
  const vocab = pieces.length;
  const next = random(7);
  const tensors: SafetensorsTensorData[] = [];
  const add = (name: string, shape: number[], scale: number, ones = false) => {
    const values = new Float32Array(shape.reduce((a, b) => a * b, 1)).map(() => (ones ? 1 : next() * scale));
    tensors.push({ name, dtype: 'BF16', shape, data: f32ToBf16Array(values) });
  };
  const std = 1 / Math.sqrt(HIDDEN);
  add('model.embed_tokens.weight', [vocab, HIDDEN], 1);
  for (let i = 0; i < LAYERS; i++) {
    const p = `model.layers.${i}.`;
    add(`${p}input_layernorm.weight`, [HIDDEN], 0, true);
    add(`${p}self_attn.q_proj.weight`, [HEADS * HEAD_DIM, HIDDEN], std);
    add(`${p}self_attn.k_proj.weight`, [KV_HEADS * HEAD_DIM, HIDDEN], std);
    add(`${p}self_attn.v_proj.weight`, [KV_HEADS * HEAD_DIM, HIDDEN], std);
    add(`${p}self_attn.o_proj.weight`, [HIDDEN, HEADS * HEAD_DIM], std);
    add(`${p}post_attention_layernorm.weight`, [HIDDEN], 0, true);
    add(`${p}mlp.gate_proj.weight`, [FFN, HIDDEN], std);
    add(`${p}mlp.up_proj.weight`, [FFN, HIDDEN], std);
    add(`${p}mlp.down_proj.weight`, [HIDDEN, FFN], 1 / Math.sqrt(FFN));
  }
  add('model.norm.weight', [HIDDEN], 0, true);
  add('lm_head.weight', [vocab, HIDDEN], std);

  const config = {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: HIDDEN,
    intermediate_size: FFN,
    num_hidden_layers: LAYERS,
    num_attention_heads: HEADS,
    num_key_value_heads: KV_HEADS,
    head_dim: HEAD_DIM,
    hidden_act: 'silu',
    max_position_embeddings: 1024,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: false,
    vocab_size: vocab,
    bos_token_id: 1,
    eos_token_id: 2,
    torch_dtype: 'bfloat16',
  };
  writeFileSync(path.join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  writeFileSync(path.join(dir, 'tokenizer.model'), buildSentencePieceModel({ pieces }));
  writeFileSync(
    path.join(dir, 'tokenizer_config.json'),
    `${JSON.stringify({ add_bos_token: true, add_eos_token: false, bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>' }, null, 2)}\n`,
  );
  void writeSafetensors(path.join(dir, 'model.safetensors'), tensors).then(() => console.log(dir));
}

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node --import tsx scripts/demo-model.ts <output folder>');
  process.exit(2);
}
main(path.resolve(dir));
