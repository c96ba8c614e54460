/** How the Hub picker words a search result and a fit check (src/extension/hub/describe.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HubModelFit } from '../../../src/protocol/hub';
import { describeFit, describeSearchResult, formatCount } from '../../../src/extension/hub/describe';

const GB = 1024 ** 3;

function fit(over: Partial<HubModelFit> = {}): HubModelFit {
  return {
    repoId: 'org/model',
    revision: 'main',
    commit: 'a'.repeat(40),
    parameters: 135e6,
    files: 6,
    totalBytes: 270e6,
    downloadBytes: 270e6,
    disk: { neededBytes: 1.2 * GB, freeBytes: 50 * GB, fits: true, where: '/work/out' },
    ram: { neededBytes: 0.8 * GB, totalBytes: 16 * GB, fits: true },
    ...over,
  };
}

test('counts read like the Hub: 999, 1.2k, 45k, 5.6M', () => {
  assert.deepEqual([999, 1234, 45_100, 5_600_000, 2e9].map(formatCount), ['999', '1.2k', '45k', '5.6M', '2B']);
});

test('a search result shows downloads, likes, formats, and that a gated repo needs a token', () => {
  const r = {
    repoId: 'org/m',
    downloads: 1234,
    likes: 5,
    gated: 'manual',
    private: false,
    updatedAt: '',
    safetensors: true,
    gguf: false,
  } as const;
  assert.equal(describeSearchResult(r), '$(cloud-download) 1.2k · $(heart) 5 · safetensors · gated (a token is needed)');
  assert.doesNotMatch(describeSearchResult({ ...r, gated: false }), /token/);
});

test('the fit summary says what downloads and whether disk and memory suffice', () => {
  const ok = describeFit(fit());
  assert.equal(ok.fits, true);
  assert.match(
    ok.summary,
    /^257\.49 MiB to download · fits this machine for quantizing: disk 1\.20 GiB needed, 50\.00 GiB free; memory 819\.20 MiB/,
  );
  const cached = describeFit(fit({ downloadBytes: 0 }));
  assert.match(cached.summary, /all cached/);
  const short = describeFit(fit({ disk: { neededBytes: 60 * GB, freeBytes: 50 * GB, fits: false, where: '/work/out' } }));
  assert.equal(short.fits, false);
  assert.match(short.summary, /does not fit this machine for quantizing \(not enough disk at \/work\/out\)/);
  const noRam = describeFit(fit({ ram: { neededBytes: 20 * GB, totalBytes: 16 * GB, fits: false } }));
  assert.equal(noRam.fits, false);
  assert.match(noRam.summary, /not enough memory/);
});
