import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatProgress } from '../../../src/cli/io';

test('progress lines: a bar, bytes done of total, and the speed of byte-counting steps', () => {
  const p = { step: 'download org/name', done: 512 * 1024, total: 1024 * 1024, unit: 'bytes' as const };
  assert.equal(formatProgress(p), 'download org/name [##############--------------]  50% 512.00 KiB/1.00 MiB');
  assert.equal(
    formatProgress(p, 2.5 * 1024 * 1024),
    'download org/name [##############--------------]  50% 512.00 KiB/1.00 MiB 2.50 MiB/s',
  );
  assert.equal(
    formatProgress({ step: 'convert', done: 3, total: 10, unit: 'tensors' }),
    'convert [########--------------------]  30% 3/10 tensors',
  );
});
