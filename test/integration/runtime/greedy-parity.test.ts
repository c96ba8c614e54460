/**
 * Greedy output of `pajamas run --raw --temperature 0` equals llama.cpp's own llama-simple on the
 * same GGUF and prompt: stories260K as published (F32) and requantized to F16 and Q8_0, the same
 * file through a manifest, and the artifacts the pipeline makes from pajama-tiny-gqa and
 * pajama-tiny-moe.
 *
 * llama-simple prints the prompt's tokens (BOS as "<s>") and then the continuation; run prints
 * only the continuation. Both generate N tokens or stop at end-of-generation.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { LlamaTools } from '../../../src/core/llamacpp';
import { readManifest, manifestRelative } from '../../../src/core/manifest/io';
import { tempDir } from '../../fixtures/bytes';
import { ggufArtifactFor, manifestWith } from '../../fixtures/manifest';
import { llamaToolsOrSkip } from '../../helpers/llama-tools';
import { THREADS, llamaSimple, pajamas, pipelineManifest, storiesModels } from './helpers';

const N_PREDICT = 48;

async function assertSameAsSimple(tools: LlamaTools, input: string, gguf: string, prompt: string): Promise<void> {
  const reference = await llamaSimple(tools, gguf, prompt, N_PREDICT);
  const r = pajamas(['run', input, '-p', prompt, '--raw', '--temperature', '0', '--max-tokens', String(N_PREDICT), '--threads', THREADS]);
  assert.equal(r.code, 0, r.stderr);
  const ours = r.stdout.replace(/\n$/, '');
  assert.ok(ours.trim().length >= 20, `a real continuation, not an empty one: ${JSON.stringify(ours)}`);
  assert.ok(reference.endsWith(ours), `llama-simple: ${JSON.stringify(reference)}\npajamas:      ${JSON.stringify(ours)}`);
  // What llama-simple printed before the continuation is exactly the echoed prompt with its BOS.
  const echo = reference.slice(0, reference.length - ours.length);
  assert.equal(echo.replace(/^<s>/, '').trim(), prompt.trim(), `echo ${JSON.stringify(echo)}`);
}

describe('greedy run equals llama-simple', () => {
  it('stories260K: F32, F16 and Q8_0', async (t) => {
    const tools = await llamaToolsOrSkip(t);
    if (!tools) return;
    const dir = tempDir(t);
    const models = await storiesModels(t, tools, dir);
    if (!models) return;
    for (const file of models) {
      for (const prompt of ['Once upon a time', 'Lily and Ben went to the park. They saw']) {
        await assertSameAsSimple(tools, file, file, prompt);
      }
    }
  });

  it('stories260K through a manifest (the fixture builder) with two artifacts: the better one runs', async (t) => {
    const tools = await llamaToolsOrSkip(t);
    if (!tools) return;
    const dir = tempDir(t);
    const models = await storiesModels(t, tools, dir);
    if (!models) return;
    const [f32, , q8] = models as [string, string, string];
    const artifacts = [
      ggufArtifactFor(q8, readFileSync(q8), { target: 'Q8_0', bpw: 8.5 }),
      ggufArtifactFor(f32, readFileSync(f32), { target: 'Q8_0', bpw: 32 }),
    ];
    writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifestWith(artifacts), null, 2));
    await assertSameAsSimple(tools, dir, f32, 'Once upon a time');
    // --artifact runs the named one instead.
    const r = pajamas([
      'run',
      dir,
      '--artifact',
      path.basename(q8, '.gguf'),
      '-p',
      'Once upon a time',
      '--raw',
      '--temperature',
      '0',
      '--max-tokens',
      '8',
      '--threads',
      THREADS,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /stories260K-Q8_0/);
  });

  for (const model of ['pajama-tiny-gqa', 'pajama-tiny-moe']) {
    it(`${model}: every GGUF artifact of the pipeline (4 targets x 2 strategies), through its manifest`, async (t) => {
      const tools = await llamaToolsOrSkip(t);
      if (!tools) return;
      const manifestPath = pipelineManifest(t, model, path.join(tempDir(t), 'out'));
      if (!manifestPath) return;
      const { manifest } = await readManifest(manifestPath);
      const ggufs = manifest.artifacts.filter((a) => a.format === 'gguf');
      assert.equal(ggufs.length, 8, 'the pipeline made 8 GGUF artifacts');
      for (const a of ggufs) {
        const r = pajamas([
          'run',
          manifestPath,
          '--artifact',
          a.id,
          '-p',
          'The old prince',
          '--raw',
          '--temperature',
          '0',
          '--max-tokens',
          String(N_PREDICT),
          '--threads',
          THREADS,
        ]);
        assert.equal(r.code, 0, r.stderr);
        const reference = await llamaSimple(tools, manifestRelative(manifestPath, a.path), 'The old prince', N_PREDICT);
        assert.ok(reference.endsWith(r.stdout.replace(/\n$/, '')), `${a.id}: ${JSON.stringify(reference)} vs ${JSON.stringify(r.stdout)}`);
      }
    });
  }
});
