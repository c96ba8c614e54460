/**
 * The patches made to node-llama-cpp's addon sources when the binding is built here: each applies
 * exactly once to the installed node-llama-cpp, and a source that moved fails with a message that
 * names the patch instead of building something else.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { FailureError } from '../../../src/core/errors';
import { BINDING_PATCHES, applyBindingPatches, bindingPatchesHash } from '../../../src/core/llamacpp/binding-patches';
import { findNodeHeaders } from '../../../src/core/llamacpp/binding-build';
import { projectRoot } from '../../helpers/env';

const llamaDir = path.join(projectRoot, 'node_modules', 'node-llama-cpp', 'llama');

describe('binding patches', () => {
  it('apply once each to the installed node-llama-cpp addon sources', () => {
    for (const file of new Set(BINDING_PATCHES.map((p) => p.file))) {
      const original = readFileSync(path.join(llamaDir, file), 'utf8');
      const patched = applyBindingPatches(file, original);
      for (const p of BINDING_PATCHES.filter((x) => x.file === file)) assert.ok(patched.includes(p.replace), p.name);
      assert.match(patched, /PAJAMAS_EVAL_ON_CALLING_THREAD/);
      assert.match(patched, /worker->Queue\(\);/, 'the thread-pool path stays the default');
    }
  });

  it('a source that changed fails naming the patch', () => {
    assert.throws(
      () => applyBindingPatches('addon/AddonContext.cpp', '// nothing here'),
      (e: unknown) => e instanceof FailureError && /eval-on-calling-thread/.test(e.message) && /missing/.test(e.message),
    );
    const twice = `${BINDING_PATCHES[0]!.find}\n${BINDING_PATCHES[0]!.find}`;
    assert.throws(() => applyBindingPatches('addon/AddonContext.cpp', twice), /more than once/);
  });

  it('the patch set has a stable short hash that changes with the patches', () => {
    assert.match(bindingPatchesHash(), /^[0-9a-f]{8}$/);
    assert.equal(bindingPatchesHash(), bindingPatchesHash());
    assert.notEqual(bindingPatchesHash(BINDING_PATCHES.slice(1)), bindingPatchesHash());
  });

  it('finds Node.js headers beside the running Node.js or in the system places', () => {
    const found = findNodeHeaders();
    if (found) assert.ok(readFileSync(path.join(found, 'node_api.h'), 'utf8').includes('napi_'));
    assert.equal(findNodeHeaders('/nonexistent/bin/node') === null, findNodeHeaders('/nonexistent/bin/node') === null);
  });
});
