import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FormatError, UsageError } from '../../../src/core/errors';
import type { HubFile } from '../../../src/core/hf/hub-client';
import { globToRegExp, selectConversionFiles, shardsFromIndex } from '../../../src/core/hf/hub-files';

const file = (p: string, sizeBytes = 10): HubFile => ({ path: p, sizeBytes, gitOid: 'a'.repeat(40), lfsSha256: null });
const paths = (files: HubFile[]) => files.map((f) => f.path);

describe('which files a conversion downloads', () => {
  const common = [
    'config.json',
    'generation_config.json',
    'tokenizer.json',
    'tokenizer_config.json',
    'special_tokens_map.json',
    'chat_template.jinja',
  ];
  const extras = [
    'README.md',
    'pytorch_model.bin',
    'model.onnx',
    'original/consolidated.00.pth',
    'original/params.json',
    'onnx/model.onnx',
    'model.gguf',
    'LICENSE',
  ];

  it('a single safetensors file: it, the configs and the tokenizer; never other formats or subfolders', () => {
    const chosen = selectConversionFiles(
      'o/m',
      [...common, ...extras, 'model.safetensors'].map((p) => file(p)),
      null,
    );
    assert.deepEqual(paths(chosen), [...common, 'model.safetensors'].sort());
  });
  it('a sharded model: the index and exactly the shards it names', () => {
    const listing = [
      ...common,
      'model.safetensors.index.json',
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
      'consolidated.safetensors',
    ].map((p) => file(p));
    const chosen = selectConversionFiles('o/m', listing, ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'], []);
    assert.ok(!paths(chosen).includes('consolidated.safetensors'));
    assert.ok(paths(chosen).includes('model.safetensors.index.json'));
    assert.throws(() => selectConversionFiles('o/m', listing, ['model-00003-of-00003.safetensors']), FormatError);
  });
  it('no usable weights: says what the repo has instead', () => {
    assert.throws(
      () =>
        selectConversionFiles(
          'o/m',
          [...common, 'pytorch_model.bin'].map((p) => file(p)),
          null,
        ),
      /o\/m has no .safetensors weights/,
    );
    assert.throws(
      () =>
        selectConversionFiles(
          'o/m',
          [...common, 'a.safetensors', 'b.safetensors'].map((p) => file(p)),
          null,
        ),
      /2 .safetensors files but no model.safetensors.index.json/,
    );
    assert.throws(
      () =>
        selectConversionFiles(
          'o/m-GGUF',
          ['README.md', 'm-Q4_K_M.gguf'].map((p) => file(p)),
          null,
        ),
      (e: unknown) => e instanceof UsageError && /GGUF files \(m-Q4_K_M.gguf\)/.test(e.message),
    );
  });
  it('extra files by glob: a GGUF repo, a subfolder file', () => {
    assert.deepEqual(
      paths(
        selectConversionFiles(
          'o/m-GGUF',
          ['README.md', 'm-Q4_K_M.gguf', 'm-Q8_0.gguf'].map((p) => file(p)),
          null,
          ['*Q4_K_M.gguf'],
        ),
      ),
      ['m-Q4_K_M.gguf'],
    );
    assert.ok(globToRegExp('original/*.json').test('original/params.json'));
    assert.ok(!globToRegExp('*.json').test('original/params.json'));
    assert.ok(globToRegExp('**/*.json').test('a/b/c.json'));
    assert.ok(!globToRegExp('model.safetensors').test('modelXsafetensors'));
  });
  it('index files: the shard names, each a .safetensors beside the index', () => {
    assert.deepEqual(shardsFromIndex('{"weight_map": {"a": "s2.safetensors", "b": "s1.safetensors", "c": "s1.safetensors"}}', 'o/m'), [
      's1.safetensors',
      's2.safetensors',
    ]);
    for (const bad of ['nope', '{}', '{"weight_map": []}', '{"weight_map": {"a": "../x.safetensors"}}', '{"weight_map": {"a": "x.bin"}}']) {
      assert.throws(() => shardsFromIndex(bad, 'o/m'), FormatError, bad);
    }
  });
});
