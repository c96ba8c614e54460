/**
 * The model host's pure parts: text batching (first piece at once, then at most one message per
 * interval, nothing lost), message guards, and errors that cross the process boundary keeping
 * their class, code and data.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CancelledError, FailureError, FormatError, type PajamasError, UnsupportedError, UsageError } from '../../../src/core/errors';
import { deserializeError, serializeError } from '../../../src/core/runtime/model-host/errors';
import { isHostMessage, isParentMessage } from '../../../src/core/runtime/model-host/protocol';
import { TextBatcher } from '../../../src/core/runtime/model-host/text-batcher';

describe('TextBatcher', () => {
  it('sends the first piece at once, then batches within the interval, and flush sends the rest', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let now = 1000;
    const sent: string[] = [];
    const b = new TextBatcher(
      (text) => sent.push(text),
      33,
      () => now,
    );
    b.push('Once');
    assert.deepEqual(sent, ['Once']);
    now += 5;
    b.push(' upon'); // a timer for the rest of the interval: 28 ms
    now += 5;
    t.mock.timers.tick(5);
    b.push(' a');
    b.push('');
    assert.deepEqual(sent, ['Once'], 'held back within the interval');
    now += 23;
    t.mock.timers.tick(23);
    assert.deepEqual(sent, ['Once', ' upon a']);
    now += 1;
    b.push(' time');
    b.flush();
    b.flush();
    assert.deepEqual(sent, ['Once', ' upon a', ' time']);
    t.mock.timers.tick(100);
    assert.deepEqual(sent, ['Once', ' upon a', ' time'], 'no timer left behind after a flush');
  });

  it('a burst of many tokens becomes a few messages and keeps every character in order', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let now = 0;
    const sent: string[] = [];
    const b = new TextBatcher(
      (text) => sent.push(text),
      33,
      () => now,
    );
    const pieces = Array.from({ length: 1000 }, (_, i) => `t${i} `);
    for (const p of pieces) {
      b.push(p);
      now += 0.5; // 2000 tokens/s
      t.mock.timers.tick(0.5);
    }
    b.flush();
    assert.equal(sent.join(''), pieces.join(''));
    assert.ok(sent.length <= Math.ceil(500 / 33) + 2, `${sent.length} messages for 500 ms of tokens`);
  });
});

describe('model host messages', () => {
  it('guards accept well-formed messages and reject others', () => {
    assert.ok(isParentMessage({ type: 'init', id: 1, gpu: 'auto' }));
    assert.ok(isParentMessage({ type: 'cancel', id: 3 }));
    assert.ok(!isParentMessage({ type: 'init' }), 'no id');
    assert.ok(!isParentMessage({ type: 'shutdown', id: 1 }));
    assert.ok(!isParentMessage(null));
    assert.ok(isHostMessage({ type: 'text', id: 2, text: 'hi' }));
    assert.ok(isHostMessage({ type: 'reply', id: 2, ok: true, value: null }));
    assert.ok(isHostMessage({ type: 'log', line: 'x' }));
    assert.ok(!isHostMessage({ type: 'text', id: 2 }));
    assert.ok(!isHostMessage({ type: 'reply', id: '2', ok: true }));
    assert.ok(!isHostMessage('reply'));
  });

  it('errors keep their class, code, message and data across the boundary', () => {
    const cases: PajamasError[] = [
      new FormatError('bad tensor', { path: '/m.gguf', tensor: 'blk.0.attn_q.weight' }),
      new UsageError('no model is loaded'),
      new UnsupportedError('no such backend', { gpu: 'cuda' }),
      new CancelledError(),
      new FailureError('disk full', { path: '/x' }),
    ];
    for (const original of cases) {
      const wire = JSON.parse(JSON.stringify(serializeError(original))) as ReturnType<typeof serializeError>;
      const back = deserializeError(wire);
      assert.equal(back.constructor, original.constructor);
      assert.equal(back.code, original.code);
      assert.equal(back.message, original.message);
      assert.deepEqual(back.data, original.data);
    }
    const plain = deserializeError(serializeError(new Error('boom')));
    assert.ok(plain instanceof FailureError);
    assert.equal(plain.message, 'boom');
    assert.ok(deserializeError({ code: 'from-the-future', message: 'm', data: {} }) instanceof FailureError);
  });
});
