/**
 * The chat's pure parts: what the host accepts from the chat view, the stored conversation's cap
 * and its reading back (workspace state is untrusted input too), and the picker keys.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adHocOption, chatKey } from '../../../src/extension/chat/models';
import { capTurns, MAX_STORED_CHARS, MAX_STORED_TURNS, restoredTurns } from '../../../src/extension/chat/storage';
import {
  CHAT_LIMITS,
  type ChatTurn,
  DEFAULT_CHAT_SETTINGS,
  isChatSettings,
  isChatTurn,
  isChatViewMessage,
} from '../../../src/protocol/chat';

test('isChatViewMessage accepts the view messages and rejects malformed ones', () => {
  for (const m of [
    { type: 'ready' },
    { type: 'select', key: '/w/m/manifest.json#a' },
    { type: 'send', text: 'hello' },
    { type: 'stop' },
    { type: 'regenerate' },
    { type: 'newChat' },
    { type: 'settings', settings: DEFAULT_CHAT_SETTINGS },
    { type: 'copy', text: 'code' },
  ])
    assert.ok(isChatViewMessage(m), JSON.stringify(m));
  for (const m of [
    null,
    { type: 'send', text: '   ' },
    { type: 'send', text: 'x'.repeat(CHAT_LIMITS.messageChars + 1) },
    { type: 'select', key: '' },
    { type: 'settings', settings: { ...DEFAULT_CHAT_SETTINGS, temperature: -1 } },
    { type: 'settings', settings: { ...DEFAULT_CHAT_SETTINGS, maxTokens: 1.5 } },
    { type: 'settings', settings: { ...DEFAULT_CHAT_SETTINGS, topP: Number.NaN } },
    { type: 'eval', code: '1' },
  ])
    assert.equal(isChatViewMessage(m), false, JSON.stringify(m));
  assert.equal(isChatSettings({ ...DEFAULT_CHAT_SETTINGS, systemPrompt: 'x'.repeat(CHAT_LIMITS.systemPromptChars + 1) }), false);
});

const turn = (i: number, text = `turn ${i}`): ChatTurn => ({ id: String(i), role: i % 2 ? 'assistant' : 'user', text });

test('capTurns keeps the newest turns within both caps, and always the last one', () => {
  const many = Array.from({ length: MAX_STORED_TURNS + 10 }, (_, i) => turn(i));
  const byCount = capTurns(many);
  assert.equal(byCount.turns.length, MAX_STORED_TURNS);
  assert.equal(byCount.dropped, 10);
  assert.equal(byCount.turns[0]!.id, '10');
  const big = [turn(0, 'a'.repeat(MAX_STORED_CHARS / 2)), turn(1, 'b'.repeat(MAX_STORED_CHARS / 2)), turn(2, 'c')];
  assert.deepEqual(
    capTurns(big).turns.map((t) => t.id),
    ['1', '2'],
  );
  const huge = [turn(0), turn(1, 'x'.repeat(MAX_STORED_CHARS * 2))];
  assert.deepEqual(
    capTurns(huge).turns.map((t) => t.id),
    ['1'],
  );
});

test('restoredTurns keeps known fields only and marks a reply cut off by a reload as stopped', () => {
  const stored = [
    { id: '1', role: 'user', text: 'hi', extra: '<script>' },
    { id: '2', role: 'assistant', text: 'par', pending: true, stats: { tokens: 'many' } },
  ] as unknown as ChatTurn[];
  const [user, reply] = restoredTurns(stored.filter(isChatTurn));
  assert.deepEqual(user, { id: '1', role: 'user', text: 'hi' });
  assert.deepEqual(reply, { id: '2', role: 'assistant', text: 'par', stopReason: 'cancelled' });
  assert.equal(isChatTurn({ id: 1, role: 'user', text: 'x' }), false);
  assert.equal(isChatTurn({ id: '1', role: 'system', text: 'x' }), false);
});

test('picker keys: an artifact is manifest#id, a bare .gguf its path; an unknown key is read back', () => {
  const key = chatKey({ input: '/w/out/manifest.json', artifactId: 'm-Q4_K_M' });
  assert.equal(key, '/w/out/manifest.json#m-Q4_K_M');
  assert.deepEqual(adHocOption(key, 'node-llama-cpp').target, { input: '/w/out/manifest.json', artifactId: 'm-Q4_K_M' });
  // A '#' in a .gguf path is part of the name, not an artifact id.
  assert.deepEqual(adHocOption('/w/a#b/model.gguf', 'node-llama-cpp').target, { input: '/w/a#b/model.gguf', artifactId: null });
});
