/**
 * gpt-oss through `pajamas run` and `pajamas chat`: the Harmony chat format comes from the GGUF's
 * template (node-llama-cpp's Harmony wrapper), the analysis channel is shown apart from the final
 * answer (dimmed on stderr, in "reasoning" with --json, hidden by --no-reasoning) and stdout holds
 * only the answer. A hand-built gpt-oss model (test/fixtures/models/scripted-harmony.ts) gives a
 * known reply. Greedy raw completions of random gpt-oss files, the converter's and the pipeline's,
 * equal llama.cpp's own llama-simple, and llama-simple's reply on the hand-built model, read by the
 * Harmony text splitter, is the reasoning and answer `pajamas run` shows.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { convertToGguf } from '../../../src/core/convert';
import { HarmonyTextSplitter } from '../../../src/core/runtime/reasoning';
import { buildScriptedHarmony } from '../../fixtures/models/scripted-harmony';
import { buildTinyModel } from '../../fixtures/models/tiny-models';
import { projectRoot } from '../../helpers/env';
import { llamaToolsOrSkip } from '../../helpers/llama-tools';
import { THREADS, llamaSimple, pajamas, pajamasChild } from './helpers';

async function scriptedGguf(t: import('node:test').TestContext) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pajamas-harmony-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const model = await buildScriptedHarmony(path.join(dir, 'hf'));
  const gguf = path.join(dir, 'scripted-gpt-oss.gguf');
  await convertToGguf(model.dir, { outPath: gguf, outType: 'f16' });
  return { ...model, gguf, dir };
}

const ARGS = ['--temperature', '0', '--max-tokens', '32', '--threads', THREADS];

test('pajamas run on gpt-oss: the Harmony analysis channel apart from the final answer', async (t) => {
  const m = await scriptedGguf(t);
  const shown = pajamas(['run', m.gguf, '-p', 'What do you say?', ...ARGS]);
  assert.equal(shown.code, 0, shown.stderr);
  assert.equal(shown.stdout, `${m.answer}\n`, 'stdout holds the final answer only');
  assert.match(shown.stderr, new RegExp(`thinking: ${m.thinking}\\n`), 'the reasoning is on stderr');

  const json = pajamas(['run', m.gguf, '-p', 'What do you say?', '--json', ...ARGS]);
  assert.equal(json.code, 0, json.stderr);
  const doc = JSON.parse(json.stdout);
  assert.deepEqual([doc.text, doc.reasoning, doc.stopReason], [m.answer, m.thinking, 'eos']);

  const hidden = pajamas(['run', m.gguf, '-p', 'What do you say?', '--no-reasoning', ...ARGS]);
  assert.equal(hidden.stdout, `${m.answer}\n`);
  assert.doesNotMatch(hidden.stderr, new RegExp(m.thinking));

  // llama.cpp's own greedy reply (llama-simple renders the special tokens) splits the same way:
  // the reply goes on past <|end|> to the final message, as a generation loop of our own would see it.
  const tools = await llamaToolsOrSkip(t);
  if (!tools) return;
  const prompt = '<|start|>user<|message|>What do you say?<|end|><|start|>assistant';
  const raw = await llamaSimple(tools, m.gguf, prompt, 32);
  const split = new HarmonyTextSplitter({});
  split.push(raw.slice(raw.indexOf(prompt) + prompt.length));
  split.flush();
  assert.deepEqual([split.reasoning, split.answer], [doc.reasoning, doc.text], raw);
});

test('pajamas chat on gpt-oss: each turn shows the reasoning apart and answers on stdout', async (t) => {
  const m = await scriptedGguf(t);
  const chat = pajamasChild(['chat', m.gguf, ...ARGS]);
  try {
    chat.child.stdin.write('Hi\n');
    await chat.waitFor(() => chat.stdout().includes(`${m.answer}\n`), 'the first answer');
    chat.child.stdin.write('Again?\n');
    await chat.waitFor(() => chat.stdout().split(`${m.answer}\n`).length === 3, 'the second answer');
    chat.child.stdin.end();
    assert.equal(await chat.exited, 0, chat.stderr());
    assert.equal(chat.stdout(), `${m.answer}\n${m.answer}\n`);
    assert.equal(chat.stderr().split(`thinking: ${m.thinking}\n`).length, 3, chat.stderr());
  } finally {
    chat.child.kill();
  }
});

test('greedy raw completion of gpt-oss GGUFs (converter F16, pipeline Q4_K_M and MXFP4_MOE) equals llama-simple', async (t) => {
  const tools = await llamaToolsOrSkip(t);
  if (!tools) return;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pajamas-gpt-oss-greedy-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(path.join(dir, 'hf'));
  // The o200k harmony tokenizer: random tokens are whole words (a byte-level fixture tokenizer
  // would give partial UTF-8 sequences, which llama-simple prints raw).
  const tokenizer = path.join(projectRoot, 'node_modules', '@lenml', 'tokenizer-gptoss', 'models');
  const model = buildTinyModel('gpt_oss', {
    dtype: 'BF16',
    seed: 4,
    dir: path.join(dir, 'hf'),
    config: { vocab_size: 201088, bos_token_id: 199998, eos_token_id: 200002 },
    tokenizerFiles: {
      'tokenizer.json': readFileSync(path.join(tokenizer, 'tokenizer.json')),
      'tokenizer_config.json': readFileSync(path.join(tokenizer, 'tokenizer_config.json')),
    },
  });
  const f16 = path.join(dir, 'gpt-oss-F16.gguf');
  await convertToGguf(model.dir, { outPath: f16, outType: 'f16' });
  const out = path.join(dir, 'out');
  const q = pajamas([
    'quantize',
    model.dir,
    '-o',
    out,
    '--formats',
    'gguf',
    '--targets',
    'Q4_K_M,MXFP4_MOE',
    '--strategy',
    'pajamas,naive',
    '--imatrix',
    'off',
    '--no-eval',
    '--no-stock-check',
  ]);
  assert.equal(q.code, 0, q.stderr);
  const files = [f16, ...['Q4_K_M-pajamas', 'Q4_K_M-naive', 'MXFP4_MOE-pajamas'].map((id) => path.join(out, `hf-${id}.gguf`))];
  for (const file of files) {
    const prompt = 'the quick brown fox';
    const reference = await llamaSimple(tools, file, prompt, 24);
    const r = pajamas(['run', file, '-p', prompt, '--raw', '--temperature', '0', '--max-tokens', '24', '--threads', THREADS]);
    assert.equal(r.code, 0, r.stderr);
    const ours = r.stdout.replace(/\n$/, '');
    assert.ok(ours.length >= 10, `${path.basename(file)}: a real continuation: ${JSON.stringify(ours)}`);
    assert.ok(
      reference.endsWith(ours),
      `${path.basename(file)}: llama-simple ${JSON.stringify(reference)}\npajamas      ${JSON.stringify(ours)}`,
    );
  }
});
