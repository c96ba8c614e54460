import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { FormatError, FailureError } from '../../../src/core/errors';
import { parseConfigJson, readConfigJson, textConfig } from '../../../src/core/hf/config';
import { tempDir } from '../../fixtures/bytes';

test('Python-style NaN, Infinity and -Infinity are accepted outside strings', () => {
  const c = parseConfigJson('{"time_step_limit": [0.0, Infinity], "a": -Infinity, "b": NaN, "c": [NaN]}');
  assert.deepEqual(c.time_step_limit, [0, Infinity]);
  assert.equal(c.a, -Infinity);
  assert.ok(Number.isNaN(c.b));
  assert.ok(Array.isArray(c.c) && Number.isNaN(c.c[0]));
});

test('the literals inside strings stay strings, escapes are decoded', () => {
  const c = parseConfigJson('{"s": "Infinity NaN", "e": "a\\"b\\\\c\\n\\u00e9", "n": -1.5e-3, "z": 0}');
  assert.equal(c.s, 'Infinity NaN');
  assert.equal(c.e, 'a"b\\c\né');
  assert.equal(c.n, -0.0015);
  assert.equal(c.z, 0);
});

test('a "__proto__" key is a plain property, not a prototype', () => {
  const c = parseConfigJson('{"__proto__": {"polluted": true}}');
  assert.equal(Object.getPrototypeOf(c), Object.prototype);
  assert.deepEqual(c.__proto__, { polluted: true });
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('other non-standard JSON is rejected with the file, line and column', () => {
  const cases: Array<[string, RegExp]> = [
    ['{"a": 1,}', /line 1, column 9: expected a property name/],
    ["{'a': 1}", /line 1, column 2: expected a property name/],
    ['{"a": inf}', /unexpected character "i"/],
    ['{"a": nan}', /unexpected character "n"/],
    ['{"a": undefined}', /unexpected character "u"/],
    ['{"a": 1} // comment', /unexpected text after the end/],
    ['{"a": 01}', /expected "," or "}"/],
    ['{\n  "a": +1\n}', /line 2, column 8: unexpected character "\+"/],
    ['{"a": "tab\there"}', /control character/],
    ['', /the file is empty/],
  ];
  for (const [text, pattern] of cases) {
    assert.throws(
      () => parseConfigJson(text, 'models/x/config.json'),
      (e: unknown) => e instanceof FormatError && e.message.startsWith('models/x/config.json') && pattern.test(e.message),
      text,
    );
  }
});

test('a truncated file says so and where', () => {
  assert.throws(
    () => parseConfigJson('{\n  "hidden_size": 4096,\n  "max_position_e', 'c.json'),
    (e: unknown) =>
      e instanceof FormatError && /line 3, column 3: unterminated string; the file looks truncated/.test(e.message) && e.data.offset === 27,
  );
  assert.throws(() => parseConfigJson('{"a": [1, 2', 'c.json'), /unexpected end of input; the file looks truncated/);
});

test('the top level must be an object', () => {
  assert.throws(
    () => parseConfigJson('[{"model_type": "llama"}]', 'c.json'),
    (e: unknown) => e instanceof FormatError && /must be a JSON object, found an array/.test(e.message),
  );
  assert.throws(() => parseConfigJson('null', 'c.json'), /found null/);
  assert.throws(() => parseConfigJson('42', 'c.json'), /found a number/);
});

test('hostile nesting is rejected, not a stack overflow', () => {
  assert.throws(() => parseConfigJson(`{"a": ${'['.repeat(100_000)}`, 'c.json'), /nesting deeper than 64 levels/);
});

test('readConfigJson: a missing file is a clear error', async (t) => {
  const dir = tempDir(t);
  await assert.rejects(
    readConfigJson(path.join(dir, 'config.json')),
    (e: unknown) => e instanceof FailureError && /no such file/.test(e.message),
  );
  writeFileSync(path.join(dir, 'config.json'), '{"model_type": "llama", "x": Infinity}');
  assert.equal((await readConfigJson(path.join(dir, 'config.json'))).x, Infinity);
});

test('textConfig follows text_config and llm_config, merging keys that only live at the top', () => {
  const wrapper = {
    model_type: 'qwen3_vl',
    architectures: ['Qwen3VLForConditionalGeneration'],
    tie_word_embeddings: false,
    torch_dtype: 'bfloat16',
    quantization_config: { quant_method: 'fp8' },
    vision_config: { hidden_size: 1152 },
    text_config: { model_type: 'qwen3_vl_text', hidden_size: 4096, torch_dtype: 'float16' },
  };
  const text = textConfig(wrapper);
  assert.equal(text.model_type, 'qwen3_vl_text');
  assert.equal(text.hidden_size, 4096);
  assert.equal(text.tie_word_embeddings, false, 'top-level-only key merged');
  assert.equal(text.torch_dtype, 'float16', 'nested value wins');
  assert.deepEqual(text.quantization_config, { quant_method: 'fp8' });
  assert.equal(text.vision_config, undefined, 'sub-configs are not merged');
  assert.deepEqual(text.architectures, ['Qwen3VLForConditionalGeneration']);

  assert.equal(textConfig({ model_type: 'internvl', llm_config: { model_type: 'qwen2', hidden_size: 896 } }).model_type, 'qwen2');
  const omni = textConfig({
    model_type: 'qwen2_5_omni',
    thinker_config: { model_type: 'thinker', text_config: { model_type: 'qwen2_5_omni_text', hidden_size: 3584 } },
  });
  assert.equal(omni.model_type, 'qwen2_5_omni_text', 'Omni models nest the text config in the thinker');
  const plain = { model_type: 'llama', hidden_size: 8 };
  assert.equal(textConfig(plain), plain);
});
