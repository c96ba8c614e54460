/**
 * allocateBits on its own, with sizes worked out by hand. One row of 256 values costs 144 bytes at
 * Q4_K, 176 at Q5_K, 210 at Q6_K and 272 at Q8_0 (ggml's block sizes), so every budget below is
 * an exact sum of those numbers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allocateBits, relativeError, type AllocationItem } from '../../../src/core/plan/allocate';
import type { GgmlTypeName } from '../../../src/core/formats/ggml-types';

const LADDER: GgmlTypeName[] = ['Q4_K', 'Q5_K', 'Q6_K', 'Q8_0'];
const item = (name: string, gain: number, rows = 1, candidates = LADDER): AllocationItem => ({
  name,
  shape: [256, rows],
  candidates,
  gain,
});
const chosen = (items: AllocationItem[], fixed: number, budget: number) => {
  const a = allocateBits(items, fixed, budget);
  return { types: Object.fromEntries(items.map((i) => [i.name, i.candidates[a.choice.get(i.name)!]])), total: a.totalBytes };
};

test('the byte sizes the budgets below are built from', () => {
  const one = allocateBits([item('x', 1)], 0, 0);
  assert.equal(one.totalBytes, 144);
  assert.equal(chosen([item('x', 1)], 0, 272).total, 272);
  assert.ok(relativeError('Q4_K') > relativeError('Q5_0') && relativeError('Q5_0') > relativeError('Q5_K'));
});

test('a budget that allows exactly one upgrade gives it to the higher gain and is met to the byte', () => {
  const items = [item('a', 1), item('b', 2)];
  const { types, total } = chosen(items, 1000, 1000 + 144 + 144 + 32);
  assert.deepEqual(types, { a: 'Q4_K', b: 'Q5_K' });
  assert.equal(total, 1000 + 144 + 176);
});

test('upgrades are spent in order of error saved per byte until the budget is met exactly', () => {
  const items = [item('a', 1), item('b', 2)];
  // b: Q4_K->Q5_K (+32), a: Q4_K->Q5_K (+32), b: Q5_K->Q6_K (+34): 98 extra bytes.
  const { types, total } = chosen(items, 0, 288 + 98);
  assert.deepEqual(types, { a: 'Q5_K', b: 'Q6_K' });
  assert.equal(total, 288 + 98);
  // One byte less and b's second upgrade does not fit.
  assert.deepEqual(chosen(items, 0, 288 + 97).types, { a: 'Q5_K', b: 'Q5_K' });
});

test('ties go to the tensor listed first, whatever the order', () => {
  const budget = 288 + 32;
  assert.deepEqual(chosen([item('a', 3), item('b', 3)], 0, budget).types, { a: 'Q5_K', b: 'Q4_K' });
  assert.deepEqual(chosen([item('b', 3), item('a', 3)], 0, budget).types, { b: 'Q5_K', a: 'Q4_K' });
});

test('an upgrade that does not fit is skipped, and cheaper ones elsewhere still happen', () => {
  // big's upgrade saves the most per byte but costs 32 x 100 bytes; small's costs 32.
  const items = [item('big', 1000, 100), item('small', 1)];
  const { types, total } = chosen(items, 0, 144 * 101 + 100);
  assert.deepEqual(types, { big: 'Q4_K', small: 'Q6_K' });
  assert.equal(total, 144 * 101 + 32 + 34);
});

test('nothing is upgraded past its last candidate, however large the budget', () => {
  const items = [item('a', 1), item('b', 5, 1, ['Q4_K', 'Q5_K']), item('c', 9, 1, ['Q6_K'])];
  const { types, total } = chosen(items, 0, 1e9);
  assert.deepEqual(types, { a: 'Q8_0', b: 'Q5_K', c: 'Q6_K' });
  assert.equal(total, 272 + 176 + 210);
});

test('a budget below the floor keeps every tensor at its cheapest candidate', () => {
  const { types, total } = chosen([item('a', 1), item('b', 2)], 0, 100);
  assert.deepEqual(types, { a: 'Q4_K', b: 'Q4_K' });
  assert.equal(total, 288);
});
