import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../../src/core/errors';
import { formatHubRef, isHubRef, isHubRepoId, parseHubRef } from '../../../src/core/hf/repo-ref';

describe('Hub references', () => {
  it('parses owner/name with an optional @revision (branch, tag, commit, refs/pr/N)', () => {
    assert.deepEqual(parseHubRef('HuggingFaceTB/SmolLM2-135M-Instruct'), {
      repoId: 'HuggingFaceTB/SmolLM2-135M-Instruct',
      revision: 'main',
    });
    assert.deepEqual(parseHubRef('org/name@v1.0'), { repoId: 'org/name', revision: 'v1.0' });
    assert.deepEqual(parseHubRef('org/name@refs/pr/1'), { repoId: 'org/name', revision: 'refs/pr/1' });
    assert.equal(parseHubRef(`org/name@${'a'.repeat(40)}`).revision, 'a'.repeat(40));
    assert.equal(formatHubRef({ repoId: 'org/name', revision: 'main' }), 'org/name');
    assert.equal(formatHubRef({ repoId: 'org/name', revision: 'dev' }), 'org/name@dev');
  });
  it('tells repo ids from paths', () => {
    for (const yes of ['org/name', 'Org-1/model.v2_x', 'org/name@dev']) assert.ok(isHubRef(yes), yes);
    for (const no of [
      './org/name',
      '../x/y',
      '/abs/path',
      'name',
      'a/b/c',
      'org/na--me',
      'org/..',
      'org/.hidden',
      `org/${'x'.repeat(97)}`,
    ]) {
      assert.ok(!isHubRef(no), no);
    }
    assert.ok(isHubRepoId('org/name') && !isHubRepoId('org/name@dev'));
  });
  it('refuses revisions that could escape refs/ or are not git ref names', () => {
    for (const bad of [
      'org/name@',
      'org/name@../../x',
      'org/name@a//b',
      'org/name@a b',
      'org/name@.hidden',
      `org/name@${'x'.repeat(300)}`,
      'org/name@a:b',
    ]) {
      assert.throws(() => parseHubRef(bad), UsageError, bad);
    }
    assert.throws(() => parseHubRef('not a repo'), /is not a Hugging Face repo id; write it as owner\/name/);
  });
});
