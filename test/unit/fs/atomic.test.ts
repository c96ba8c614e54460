import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CancelledError } from '../../../src/core/errors';
import {
  AtomicFile,
  isProcessAlive,
  isTempPath,
  removeStaleTemps,
  tempPathFor,
  writeAtomically,
  writeDirectoryAtomically,
} from '../../../src/core/fs/atomic';
import { tempDir } from '../../fixtures/bytes';

describe('tempPathFor', () => {
  it('is a hidden .partial name with the pid, in the same folder', () => {
    const p = tempPathFor('/some/dir/model.gguf');
    assert.equal(path.dirname(p), '/some/dir');
    assert.match(path.basename(p), new RegExp(`^\\.model\\.gguf\\.${process.pid}-[0-9a-f]{8}\\.partial$`));
    assert.ok(isTempPath(p));
    assert.ok(!isTempPath('/some/dir/model.gguf'));
    assert.notEqual(tempPathFor('/x/a'), tempPathFor('/x/a'));
  });
});

describe('writeAtomically', () => {
  it('renames the finished file into place, replacing an old one', async (t) => {
    const dir = tempDir(t);
    const final = path.join(dir, 'out.bin');
    writeFileSync(final, 'old');
    const result = await writeAtomically(final, async (tmp) => {
      assert.ok(isTempPath(tmp));
      await writeFile(tmp, 'new');
      assert.equal(readFileSync(final, 'utf8'), 'old', 'the old file stays until the new one is complete');
      return 42;
    });
    assert.equal(result, 42);
    assert.equal(readFileSync(final, 'utf8'), 'new');
    assert.deepEqual(readdirSync(dir), ['out.bin']);
  });

  it('removes the temporary file and keeps the old one when the writer throws', async (t) => {
    const dir = tempDir(t);
    const final = path.join(dir, 'out.bin');
    writeFileSync(final, 'old');
    await assert.rejects(
      writeAtomically(final, async (tmp) => {
        await writeFile(tmp, 'partial');
        throw new Error('disk on fire');
      }),
      /disk on fire/,
    );
    assert.equal(readFileSync(final, 'utf8'), 'old');
    assert.deepEqual(readdirSync(dir), ['out.bin']);
  });

  it('discards the output when cancelled during the write', async (t) => {
    const dir = tempDir(t);
    const controller = new AbortController();
    const final = path.join(dir, 'out.bin');
    await assert.rejects(
      writeAtomically(
        final,
        async (tmp) => {
          await writeFile(tmp, 'data');
          controller.abort();
        },
        { signal: controller.signal },
      ),
      CancelledError,
    );
    assert.deepEqual(readdirSync(dir), []);
  });
});

describe('writeDirectoryAtomically', () => {
  it('creates the folder complete, or not at all', async (t) => {
    const dir = tempDir(t);
    const final = path.join(dir, 'mlx-model');
    await writeDirectoryAtomically(final, async (tmp) => {
      writeFileSync(path.join(tmp, 'config.json'), '{}');
      assert.ok(!existsSync(final));
    });
    assert.deepEqual(readdirSync(final), ['config.json']);

    await assert.rejects(
      writeDirectoryAtomically(path.join(dir, 'other'), async (tmp) => {
        writeFileSync(path.join(tmp, 'half.safetensors'), 'x');
        throw new Error('quantizer failed');
      }),
      /quantizer failed/,
    );
    assert.deepEqual(readdirSync(dir), ['mlx-model']);
  });

  it('replaces an existing folder and removes the old contents', async (t) => {
    const dir = tempDir(t);
    const final = path.join(dir, 'out');
    mkdirSync(final);
    writeFileSync(path.join(final, 'stale.txt'), 'old');
    await writeDirectoryAtomically(final, async (tmp) => writeFileSync(path.join(tmp, 'fresh.txt'), 'new'));
    assert.deepEqual(readdirSync(final), ['fresh.txt']);
    assert.deepEqual(readdirSync(dir), ['out']);
  });
});

describe('AtomicFile', () => {
  it('commit renames, abort deletes, both only once', async (t) => {
    const dir = tempDir(t);
    const a = await AtomicFile.create(path.join(dir, 'a.bin'));
    await a.handle.write(Buffer.from('abc'));
    assert.ok(existsSync(a.tempPath));
    await a.commit();
    assert.equal(readFileSync(path.join(dir, 'a.bin'), 'utf8'), 'abc');
    await a.abort(); // no-op after commit
    assert.ok(existsSync(path.join(dir, 'a.bin')));
    await assert.rejects(a.commit(), /already committed/);

    const b = await AtomicFile.create(path.join(dir, 'b.bin'));
    await b.abort();
    await b.abort();
    assert.deepEqual(readdirSync(dir), ['a.bin']);
  });
});

describe('removeStaleTemps', () => {
  it('deletes temporary files and folders of writers that are gone, and nothing else', async (t) => {
    const dir = tempDir(t);
    const gone = spawnSync(process.execPath, ['-e', '']).pid; // a process that has exited
    assert.ok(!isProcessAlive(gone) && isProcessAlive(process.pid));
    const stale = `.model.gguf.${gone}-0123abcd.partial`;
    const staleDir = `.model-mlx.${gone}-89abcdef.partial`;
    const live = path.basename(tempPathFor(path.join(dir, 'other.gguf')));
    writeFileSync(path.join(dir, stale), 'x');
    mkdirSync(path.join(dir, staleDir));
    writeFileSync(path.join(dir, staleDir, 'weights.safetensors'), 'x');
    writeFileSync(path.join(dir, live), 'x');
    writeFileSync(path.join(dir, `model.${gone}-0123abcd.partial`), 'not hidden: not ours');
    const removed = await removeStaleTemps(dir);
    assert.deepEqual(removed.sort(), [stale, staleDir].sort());
    assert.deepEqual(readdirSync(dir).sort(), [live, `model.${gone}-0123abcd.partial`].sort());
    assert.deepEqual(await removeStaleTemps(path.join(dir, 'missing')), []);
  });
});
