import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HarmonyTextSplitter, withHarmonyChannels } from '../../../src/core/runtime/reasoning';

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

test('withHarmonyChannels: the result holds the answer as text and the reasoning apart; streamed the same way', async () => {
  const streamed: string[] = [];
  const handlers = { onToken: (t: string) => streamed.push(`a:${t}`), onReasoning: (t: string) => streamed.push(`r:${t}`) };
  const result = await withHarmonyChannels(handlers, async (onText) => {
    for (const piece of ['<|channel|>analysis<|message|>Th', 'ink<|start|>assistant<|chan', 'nel|>final<|message|>Hi']) onText(piece);
    return { text: 'ignored', stopReason: 'eos', tokens: 9 };
  });
  assert.deepEqual(result, { text: 'Hi', reasoning: 'Think', stopReason: 'eos', tokens: 9 });
  assert.deepEqual(streamed, ['r:Th', 'r:ink', 'a:Hi']);
  const plain = await withHarmonyChannels({}, async (onText) => {
    onText('Hi');
    return { text: 'Hi', stopReason: 'eos', tokens: 1 };
  });
  assert.deepEqual(plain, { text: 'Hi', stopReason: 'eos', tokens: 1 });
});
