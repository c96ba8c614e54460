/**
 * `pajamas detect` as a user runs it: the built CLI in a child process. --json prints exactly one
 * JSON document on stdout (logs go to stderr); exit codes 0 ok, 2 usage, 3 bad input.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { tempDir } from '../fixtures/bytes';
import { projectRoot, sharedAsset } from '../helpers/env';

const CLI = path.join(projectRoot, 'bin', 'pajamas.js');

/** Fields the issue names for `detect --json`, spelled exactly. */
const CONTRACT_FIELDS = [
  'modelType',
  'family',
  'attention',
  'numLayers',
  'hiddenSize',
  'numAttentionHeads',
  'numKeyValueHeads',
  'headDim',
  'gqaRatio',
  'contextLength',
  'vocabSize',
  'slidingWindow',
  'attentionPattern',
  'moe',
  'parameters',
];

function pajamas(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: projectRoot,
    encoding: 'utf8',
    env: { ...process.env, HF_ENDPOINT: 'http://127.0.0.1:9' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

before(() => {
  const build = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: projectRoot, encoding: 'utf8' });
  assert.equal(build.status, 0, `node esbuild.mjs failed:\n${build.stderr}`);
});

const QWEN_LIKE = {
  model_type: 'qwen3',
  hidden_size: 256,
  num_hidden_layers: 2,
  num_attention_heads: 8,
  num_key_value_heads: 2,
  head_dim: 32,
  intermediate_size: 512,
  vocab_size: 1000,
  max_position_embeddings: 4096,
  tie_word_embeddings: false,
};

test('detect --json prints one JSON document with the contract fields', (t) => {
  const config = path.join(tempDir(t), 'config.json');
  writeFileSync(config, JSON.stringify(QWEN_LIKE));
  const r = pajamas('detect', config, '--json');
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as Record<string, unknown>;
  for (const key of CONTRACT_FIELDS) assert.ok(key in doc, `missing "${key}"`);
  assert.equal(doc.modelType, 'qwen3');
  assert.equal(doc.attention, 'gqa');
  assert.equal(doc.gqaRatio, 4);
  assert.equal(doc.moe, null);
  assert.equal(doc.parametersSource, 'computed');
  assert.deepEqual(Object.keys(doc.parameters as object), ['total', 'active']);
  assert.equal(r.stderr, '');
});

test('detect prints the text block without --json', (t) => {
  const config = path.join(tempDir(t), 'config.json');
  writeFileSync(config, JSON.stringify(QWEN_LIKE));
  const r = pajamas('detect', config);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    new RegExp(
      String.raw`^ArchitectureInfo\(.*config\.json\)\n {2}Type: qwen3\n {2}Family: dense\n {2}Parameters: [\d.]+M\n {2}Attention: gqa` +
        String.raw`\n {2}GQA Ratio: 4:1 \(8 query, 2 KV\)\n {2}Layers: 2\n {2}Context: 4096\n$`,
    ),
  );
});

test('detect on the shared models: GGUF and HF folder', (t) => {
  const gguf = sharedAsset(t, 'models/stories260K-gguf/stories260K.gguf');
  const moe = sharedAsset(t, 'models/pajama-tiny-moe');
  if (!gguf || !moe) return;
  const g = JSON.parse(pajamas('detect', gguf, '--json').stdout) as Record<string, unknown>;
  assert.deepEqual([g.hiddenSize, g.numLayers, g.numAttentionHeads, g.numKeyValueHeads, g.vocabSize], [64, 5, 8, 4, 512]);
  const m = pajamas('detect', moe, '--json');
  assert.equal(m.code, 0, m.stderr);
  const doc = JSON.parse(m.stdout) as {
    family: string;
    parameters: { total: number };
    parametersSource: string;
    moe: { numExperts: number };
  };
  assert.equal(doc.family, 'moe');
  assert.equal(doc.moe.numExperts, 8);
  assert.equal(doc.parameters.total, 10_697_984);
  assert.equal(doc.parametersSource, 'weights');
});

test('malformed config: exit 3, nothing on stdout, the file and position on stderr', (t) => {
  const dir = sharedAsset(t, 'fixtures/configs');
  if (!dir) return;
  for (const file of ['malformed-truncated.json', 'malformed-not-object.json']) {
    const r = pajamas('detect', path.join(dir, file), '--json');
    assert.equal(r.code, 3, file);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, new RegExp(`pajamas detect: .*${file.replace('.', '\\.')}`));
  }
  const hermetic = path.join(tempDir(t), 'config.json');
  writeFileSync(hermetic, '{"model_type": "llama", "hidden_size": 8,');
  const r = pajamas('detect', hermetic);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /line 1, column 42: unexpected end of input; the file looks truncated/);
});

test('usage errors exit 2: no model, two models, an unknown option, a path that does not exist', () => {
  const cases: Array<[string[], RegExp]> = [
    [['detect'], /missing <model>/],
    [['detect', 'a', 'b'], /expected one <model>, got 2/],
    [['detect', '--frob', 'x'], /unknown option --frob/],
    [['detect', './no/such/model'], /no such file or folder: \.\/no\/such\/model/],
  ];
  for (const [args, message] of cases) {
    const r = pajamas(...args);
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^pajamas detect: /);
    assert.match(r.stderr, message);
  }
});

test('a Hub repo id while offline: exit 1 with a message saying to pass a local folder', () => {
  const r = pajamas('detect', 'some-org/some-model', '--json');
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /Hugging Face Hub.*pass a local model folder/);
});

test('pajamas --help lists detect', () => {
  const r = pajamas('--help');
  assert.match(r.stdout, /\n {2}detect +Detect a model's architecture/);
});
