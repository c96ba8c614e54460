import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeMessages, Conversation } from '../../../src/core/runtime/conversation';
import { StopMatcher, TokenTextDecoder } from '../../../src/core/runtime/text-stream';
import { UsageError } from '../../../src/core/errors';

/** A byte-level "tokenizer": each token is one byte; context is ignored except for a leading-space rule. */
const bytesDecoder = (tokens: number[], context: number[]) => {
  const text = Buffer.from(tokens).toString('utf8');
  return context.length === 0 ? text.replace(/^ /, '') : text;
};

describe('TokenTextDecoder', () => {
  it('holds back a character split across tokens until it is complete', () => {
    const bytes = [...Buffer.from('añ€😀!')];
    const d = new TokenTextDecoder(bytesDecoder, [1]);
    const pieces = bytes.map((b) => d.push(b));
    assert.equal(pieces.join(''), 'añ€😀!');
    assert.ok(
      pieces.every((p) => !p.includes('\uFFFD')),
      JSON.stringify(pieces),
    );
    // "ñ" is two bytes: the first byte yields nothing, the second the character.
    assert.deepEqual(pieces.slice(1, 3), ['', 'ñ']);
  });

  it('gives up holding after a few tokens (invalid UTF-8 is emitted as replacement characters)', () => {
    const d = new TokenTextDecoder(bytesDecoder, [1]);
    const out = [0xe2, 0xe2, 0xe2, 0xe2].map((b) => d.push(b)).join('') + d.flush();
    assert.ok(out.includes('\uFFFD'));
  });

  it('passes context so word-initial spaces survive', () => {
    const d = new TokenTextDecoder(bytesDecoder, []);
    assert.equal(d.push(0x20), '');
    // with no context the leading space is stripped, as llama.cpp does at the start of a text
    const withContext = new TokenTextDecoder(bytesDecoder, [65]);
    assert.equal(withContext.push(0x20), ' ');
  });

  it('flush returns what is pending', () => {
    const d = new TokenTextDecoder(bytesDecoder, [1]);
    assert.equal(d.push(0xc3), '');
    assert.equal(d.flush(), '\uFFFD');
    assert.equal(d.flush(), '');
  });
});

describe('StopMatcher', () => {
  it('passes text through without stop strings', () => {
    const m = new StopMatcher([]);
    assert.deepEqual(m.push('abc'), { text: 'abc', stopped: false });
  });

  it('finds a stop string split across pieces and cuts the text before it', () => {
    const m = new StopMatcher(['\nUser:']);
    const steps = ['Hello', ' there\n', 'Us', 'er: hi'].map((p) => m.push(p));
    assert.deepEqual(
      steps.map((s) => s.text),
      ['Hello', ' there', '', ''],
    );
    assert.equal(steps[3]!.stopped, true);
  });

  it('releases held text once it cannot be a stop string', () => {
    const m = new StopMatcher(['END']);
    assert.deepEqual(m.push('the E'), { text: 'the ', stopped: false });
    assert.deepEqual(m.push('nd'), { text: 'End', stopped: false });
    assert.equal(m.flush('E'), 'E');
  });

  it('the earliest of several stop strings wins', () => {
    const m = new StopMatcher(['bb', 'a']);
    assert.deepEqual(m.push('xxbbya'), { text: 'xx', stopped: true });
  });
});

describe('conversation', () => {
  it('normalizes input and checks roles', () => {
    assert.deepEqual(normalizeMessages('hi'), [{ role: 'user', content: 'hi' }]);
    const bad = (input: Parameters<typeof normalizeMessages>[0], pattern: RegExp) =>
      assert.throws(
        () => normalizeMessages(input),
        (e: unknown) => e instanceof UsageError && pattern.test(e.message),
      );
    bad([], /at least one message/);
    bad([{ role: 'assistant', content: 'x' }], /last message must be a user message/);
    bad(
      [
        { role: 'user', content: 'a' },
        { role: 'system', content: 's' },
        { role: 'user', content: 'b' },
      ],
      /message 1 is a system message/,
    );
    bad([{ role: 'tool' as 'user', content: 'x' }], /role "tool"/);
  });

  it('keeps the system prompt across reset, and replaces it when a system message comes first', () => {
    const c = new Conversation('be brief');
    c.add('hi');
    c.addReply('hello');
    assert.deepEqual(
      c.messages().map((m) => m.role),
      ['system', 'user', 'assistant'],
    );
    c.reset();
    assert.deepEqual(c.messages(), [{ role: 'system', content: 'be brief' }]);
    const before = c.snapshot();
    c.add([
      { role: 'system', content: 'be verbose' },
      { role: 'user', content: 'go' },
      { role: 'assistant', content: 'ok' },
      { role: 'user', content: 'more' },
    ]);
    assert.deepEqual(
      c.messages().map((m) => m.content),
      ['be verbose', 'go', 'ok', 'more'],
    );
    // a failed turn is undone whole, system prompt included
    c.restore(before);
    assert.deepEqual(c.messages(), [{ role: 'system', content: 'be brief' }]);
  });

  it('allows one generation at a time', async () => {
    const c = new Conversation();
    let release!: () => void;
    const first = c.exclusive(() => new Promise<void>((r) => (release = r)));
    await assert.rejects(
      c.exclusive(async () => 1),
      (e: unknown) => e instanceof UsageError && /still generating/.test(e.message),
    );
    release();
    await first;
    assert.equal(await c.exclusive(async () => 2), 2);
  });
});
