import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HarmonyTextSplitter, ReasoningRouter } from '../../../src/core/runtime/reasoning';

/** Feeds `pieces` and returns what went where. */
function split(pieces: string[]) {
  const shown = { answer: '', reasoning: '' };
  const s = new HarmonyTextSplitter({ onToken: (t) => (shown.answer += t), onReasoning: (t) => (shown.reasoning += t) });
  for (const p of pieces) s.push(p);
  s.flush();
  assert.deepEqual([s.answer, s.reasoning], [shown.answer, shown.reasoning], 'kept text equals streamed text');
  return shown;
}

/** Every way of cutting `text` in two, and one character at a time. */
function cuts(text: string): string[][] {
  return [[text], [...text], ...[...Array(text.length).keys()].map((i) => [text.slice(0, i), text.slice(i)])];
}

const REPLY =
  '<|channel|>analysis<|message|>User says hi. <|x|> is not a marker.<|start|>assistant<|channel|>final<|message|>Hello <| there';

test('Harmony text: analysis is reasoning, final is the answer, headers dropped, however the text is cut', () => {
  for (const pieces of cuts(REPLY)) {
    assert.deepEqual(
      split(pieces),
      { reasoning: 'User says hi. <|x|> is not a marker.', answer: 'Hello <| there' },
      JSON.stringify(pieces),
    );
  }
});

test('Harmony text: commentary is reasoning; <|end|>, a message without a channel and a constrained call header', () => {
  const text =
    '<|channel|>commentary<|message|>Plan.<|end|><|start|>assistant<|channel|>commentary to=functions.f <|constrain|>json<|message|>' +
    '{"a":1}<|start|>assistant<|message|>Done.';
  assert.deepEqual(split([text]), { reasoning: 'Plan.{"a":1}', answer: 'Done.' });
});

test('Harmony text: a reply without headers is all answer; a marker cut off at the end is text', () => {
  assert.deepEqual(split(['Just ', 'text.']), { reasoning: '', answer: 'Just text.' });
  assert.deepEqual(split(['Ends with <|chan']), { reasoning: '', answer: 'Ends with <|chan' });
});

test('node-llama-cpp response chunks: segments are reasoning, plain chunks the answer', () => {
  const shown: string[] = [];
  const router = new ReasoningRouter({ onToken: (t) => shown.push(`a:${t}`), onReasoning: (t) => shown.push(`r:${t}`) });
  router.chunk({ type: 'segment', segmentType: 'thought', text: 'Think' });
  router.chunk({ type: 'segment', segmentType: 'comment', text: '.' });
  router.chunk({ text: '' });
  router.chunk({ text: 'Hi' });
  assert.deepEqual(shown, ['r:Think', 'r:.', 'a:Hi']);
  assert.equal(router.reasoning, 'Think.');
});
