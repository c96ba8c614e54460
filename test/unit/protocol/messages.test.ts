/** The message guards: what the host accepts from a webview, and error data from the worker. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isWorkerErrorData } from '../../../src/protocol/errors';
import { isStrategyOptions, isStrategyViewMessage, type StrategyOptions } from '../../../src/protocol/strategy-view';

const options: StrategyOptions = {
  formats: ['gguf'],
  targets: ['Q4_K_M', 'Q8_0'],
  strategy: 'both',
  imatrix: 'auto',
  imatrixFile: '',
  calibrationFile: '',
  outDir: '/tmp/out',
  evaluate: true,
};

test('isStrategyViewMessage accepts every well-formed message', () => {
  for (const m of [
    { type: 'ready' },
    { type: 'cancel' },
    { type: 'plan', requestId: 3, target: 'Q6_K', strategy: 'naive' },
    { type: 'options', options },
    { type: 'start', options: { ...options, formats: ['gguf', 'mlx'], targets: [] } },
    { type: 'browse', field: 'calibrationFile' },
    { type: 'openManifest', path: '/x/manifest.json' },
    { type: 'reveal', path: '/x' },
    { type: 'chat', manifestPath: '/x/manifest.json', artifactId: 'm-Q4_K_M' },
    { type: 'rendered', requestId: 1, ms: 12.5, tensors: 400 },
  ]) {
    assert.ok(isStrategyViewMessage(m), JSON.stringify(m));
  }
});

test('isStrategyViewMessage rejects unknown types, missing fields and wrong values', () => {
  for (const m of [
    null,
    'ready',
    [],
    { type: 'delete-everything' },
    { kind: 'ready' },
    { type: 'plan', requestId: -1, target: 'Q4_K_M', strategy: 'pajamas' },
    { type: 'plan', requestId: 1.5, target: 'Q4_K_M', strategy: 'pajamas' },
    { type: 'plan', requestId: 1, target: 'Q3_K_S', strategy: 'pajamas' },
    { type: 'plan', requestId: 1, target: 'Q4_K_M', strategy: 'both' },
    { type: 'start' },
    { type: 'start', options: { ...options, formats: ['safetensors'] } },
    { type: 'start', options: { ...options, evaluate: 'yes' } },
    { type: 'start', options: { ...options, outDir: 7 } },
    { type: 'options', options: { ...options, imatrix: 'maybe' } },
    { type: 'browse', field: 'anything' },
    { type: 'openManifest', path: '' },
    { type: 'reveal' },
    { type: 'rendered', requestId: 1, ms: Number.NaN, tensors: 1 },
  ]) {
    assert.equal(isStrategyViewMessage(m), false, JSON.stringify(m));
  }
});

test('isStrategyOptions needs every field', () => {
  assert.ok(isStrategyOptions(options));
  for (const key of Object.keys(options)) {
    const partial: Record<string, unknown> = { ...options };
    delete partial[key];
    assert.equal(isStrategyOptions(partial), false, `without ${key}`);
  }
});

test('isWorkerErrorData tells the worker’s error data from anything else', () => {
  assert.ok(isWorkerErrorData({ pajamas: true, code: 'format', details: { path: '/a' } }));
  assert.equal(isWorkerErrorData({ code: 'format', details: {} }), false);
  assert.equal(isWorkerErrorData({ pajamas: true, code: 'format', details: null }), false);
  assert.equal(isWorkerErrorData(undefined), false);
});
