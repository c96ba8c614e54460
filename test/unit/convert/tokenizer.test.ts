import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { FormatError, UnsupportedError, remediesOf } from '../../../src/core/errors';
import { TokenType, loadGgufVocab } from '../../../src/core/hf/tokenizer';
import { identifyPreTokenizer } from '../../../src/core/hf/tokenizer-pre';
import { validateTokenizerJson } from '../../../src/core/hf/tokenizer-json';
import { buildBpeTokenizerJson } from '../../fixtures/models/bpe-builder';
import { buildSentencePieceModel, llamaStylePieces } from '../../fixtures/models/sentencepiece-builder';

function folder(t: TestContext, files: Record<string, string | Buffer | object>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pajamas-tok-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(path.join(dir, name), typeof content === 'string' || Buffer.isBuffer(content) ? content : JSON.stringify(content));
  }
  return dir;
}

const LLAMA3 =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

function splitPre(regex: string): object {
  return {
    type: 'Sequence',
    pretokenizers: [
      { type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false },
      { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
    ],
  };
}

test('SentencePiece tokenizer.model -> llama vocabulary, padded to the embedding size, with special ids from config.json', async (t) => {
  const spm = buildSentencePieceModel({ pieces: llamaStylePieces(['▁a', '▁b']) });
  const dir = folder(t, {
    'tokenizer.model': spm,
    'tokenizer_config.json': {
      bos_token: '<s>',
      eos_token: '</s>',
      add_bos_token: true,
      add_eos_token: false,
      added_tokens_decoder: { '262': { content: '<|user|>', special: true }, '263': { content: '▁hi▁', special: false } },
    },
  });
  const v = await loadGgufVocab(dir, { nVocab: 264, config: { bos_token_id: 1, eos_token_id: 2 } });
  assert.equal(v.model, 'llama');
  assert.equal(v.pre, 'default');
  assert.equal(v.tokens.length, 264);
  assert.deepEqual(v.tokens.slice(0, 4), ['<unk>', '<s>', '</s>', '<0x00>']);
  assert.deepEqual(Array.from(v.tokenTypes.slice(0, 4)), [TokenType.unknown, TokenType.control, TokenType.control, TokenType.byte]);
  assert.equal(v.tokens[259], '▁a');
  assert.equal(v.scores![260], -1);
  // Added tokens: special -> CONTROL; others USER_DEFINED with "▁" turned back into spaces.
  assert.equal(v.tokens[262], '<|user|>');
  assert.equal(v.tokenTypes[262], TokenType.control);
  assert.equal(v.tokens[263], ' hi ');
  assert.equal(v.tokenTypes[263], TokenType.userDefined);
  assert.equal(v.scores![262], -1000);
  assert.deepEqual(v.special.ids, { bos: 1, eos: 2 });
  assert.deepEqual(v.special.add, { bos: true, eos: false });
  assert.equal(v.addSpacePrefix, null);
});

test('ids past the pieces become [PAD<id>] UNUSED tokens; a dummy-prefix-less model says add_space_prefix=false', async (t) => {
  const dir = folder(t, { 'tokenizer.model': buildSentencePieceModel({ pieces: llamaStylePieces([]), addDummyPrefix: false }) });
  const v = await loadGgufVocab(dir, { nVocab: 261, config: {} });
  assert.deepEqual(v.tokens.slice(259), ['[PAD259]', '[PAD260]']);
  assert.equal(v.tokenTypes[260], TokenType.unused);
  assert.equal(v.addSpacePrefix, false);
});

test('byte-level BPE tokenizer.json -> gpt2 vocabulary with merges, pre-tokenizer and template-driven add_bos', async (t) => {
  const tj = buildBpeTokenizerJson({
    vocabSize: 300,
    specials: ['<|begin_of_text|>', '<|eot_id|>'],
    preTokenizer: splitPre(LLAMA3),
  }) as Record<string, unknown>;
  tj.post_processor = {
    type: 'TemplateProcessing',
    single: [{ SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
  };
  const dir = folder(t, {
    'tokenizer.json': tj,
    'tokenizer_config.json': { bos_token: '<|begin_of_text|>', eos_token: '<|eot_id|>' },
    'chat_template.jinja': '{{ messages }}',
  });
  const logs: string[] = [];
  const v = await loadGgufVocab(dir, { nVocab: 304, config: {}, log: (l) => logs.push(l) });
  assert.equal(v.model, 'gpt2');
  assert.equal(v.pre, 'llama-bpe');
  assert.equal(v.scores, null);
  assert.equal(v.tokens[0x41], 'A');
  assert.equal(v.tokens[32], '\u0120'); // byte-level space
  assert.equal(v.tokens[298], '<|begin_of_text|>');
  assert.equal(v.tokenTypes[298], TokenType.control);
  assert.equal(v.tokens[303], '[PAD303]');
  assert.ok(v.merges!.length > 10 && v.merges!.every((m) => m.split(' ').length === 2));
  assert.deepEqual(v.special.ids, { bos: 298, eos: 299 });
  assert.equal(v.special.add.bos, true);
  assert.equal(v.special.chatTemplate, '{{ messages }}');
  assert.ok(logs.some((l) => l.includes('llama-bpe')));
});

test('merges stored as pairs are written as "a b" with spaces inside parts encoded as U+0120', async (t) => {
  const tj = buildBpeTokenizerJson({ vocabSize: 300 }) as { model: { merges: [string, string][] } };
  tj.model.merges.push(['a b', 'c']);
  const dir = folder(t, { 'tokenizer.json': tj });
  const v = await loadGgufVocab(dir, { nVocab: 300, config: {} });
  assert.equal(v.merges!.at(-1), 'a\u0120b c');
});

test('pre-tokenizers: known families are recognised, unknown ones are an error unless forced', () => {
  const tj = (pre: object) => validateTokenizerJson({ model: { type: 'BPE', vocab: {}, merges: [] }, pre_tokenizer: pre });
  assert.equal(identifyPreTokenizer(tj(splitPre(LLAMA3))).name, 'llama-bpe');
  assert.equal(identifyPreTokenizer(tj({ type: 'ByteLevel', add_prefix_space: false, use_regex: true })).name, 'gpt-2');
  assert.equal(
    identifyPreTokenizer(
      tj({
        type: 'Sequence',
        pretokenizers: [
          { type: 'Digits', individual_digits: true },
          { type: 'ByteLevel', add_prefix_space: false, use_regex: true },
        ],
      }),
    ).name,
    'smollm',
  );
  const odd = tj(splitPre('\\w+|\\s+'));
  assert.throws(
    () => identifyPreTokenizer(odd),
    (e: unknown) =>
      e instanceof UnsupportedError &&
      /llama-bpe/.test(e.message) &&
      remediesOf(e).some((r) => 'option' in r && r.option === 'preTokenizer'),
  );
  const forced = identifyPreTokenizer(odd, 'qwen2');
  assert.equal(forced.name, 'qwen2');
  assert.match(forced.reason, /forced/);
});

test('a SentencePiece-style BPE tokenizer.json (byte fallback) becomes a llama vocabulary scored by merge rank', async (t) => {
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2, '<0x41>': 3, '▁': 4, a: 5, b: 6, ab: 7, '▁ab': 8, zz: 9 };
  const dir = folder(t, {
    'tokenizer.json': {
      model: {
        type: 'BPE',
        byte_fallback: true,
        unk_token: '<unk>',
        vocab,
        merges: [
          ['a', 'b'],
          ['▁', 'ab'],
        ],
      },
      added_tokens: [{ id: 1, content: '<s>', special: true }],
      normalizer: { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
      decoder: { type: 'Sequence', decoders: [] },
    },
  });
  const v = await loadGgufVocab(dir, { nVocab: 10, config: {} });
  assert.equal(v.model, 'llama');
  assert.equal(v.scores![7], -0); // first merge
  assert.equal(v.scores![8], -1);
  assert.ok(v.scores![9]! < -1e6); // no merge makes it: tried last
  assert.equal(v.tokenTypes[0], TokenType.unknown);
  assert.equal(v.tokenTypes[1], TokenType.control);
  assert.equal(v.tokenTypes[3], TokenType.byte);
  assert.equal(v.addSpacePrefix, false);
});

test('no tokenizer, or a tokenizer larger than the embedding, is a FormatError', async (t) => {
  await assert.rejects(
    loadGgufVocab(folder(t, {}), { nVocab: 10, config: {} }),
    (e: unknown) => e instanceof FormatError && /no tokenizer found/.test(e.message),
  );
  const dir = folder(t, { 'tokenizer.json': buildBpeTokenizerJson({ vocabSize: 300 }) });
  await assert.rejects(loadGgufVocab(dir, { nVocab: 280, config: {} }), /embedding has only 280 rows/);
  await assert.rejects(loadGgufVocab(folder(t, { 'tokenizer.json': '{"model": ' }), { nVocab: 10, config: {} }), FormatError);
});

test('a Unigram tokenizer.json is unsupported, with a clear message', async (t) => {
  const dir = folder(t, { 'tokenizer.json': { model: { type: 'Unigram', vocab: [['a', -1]] } } });
  await assert.rejects(
    loadGgufVocab(dir, { nVocab: 1, config: {} }),
    (e: unknown) => e instanceof UnsupportedError && /Unigram/.test(e.message),
  );
});
