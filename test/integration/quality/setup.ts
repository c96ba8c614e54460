/**
 * Shared setup of the quality integration tests: stories260K (F32 GGUF, 512-token vocabulary) as
 * the baseline, requantized in the test with llama-quantize, a manifest describing the results,
 * and the held-out War and Peace text. Small settings (context 128, 6 chunks) keep each
 * llama-perplexity pass to a second or two.
 */
import { copyFileSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { sha256File } from '../../../src/core/fs/hash';
import { type LlamaTools, runLlamaTool } from '../../../src/core/llamacpp';
import type { Artifact, Baseline, Manifest } from '../../../src/core/manifest/types';
import { ggufArtifactFor, manifestWith } from '../../fixtures/manifest';
import { sharedAsset } from '../../helpers/env';
import { llamaToolsOrSkip } from '../../helpers/llama-tools';

export const CTX = 128;
export const CHUNKS = 6;

export interface QualityAssets {
  tools: LlamaTools;
  model: string;
  text: string;
}

export async function qualityAssets(t: TestContext): Promise<QualityAssets | undefined> {
  const model = sharedAsset(t, 'models/stories260K-gguf/stories260K.gguf');
  const text = sharedAsset(t, 'data/war-and-peace-heldout.txt');
  if (!model || !text) return undefined;
  const tools = await llamaToolsOrSkip(t);
  if (!tools) return undefined;
  return { tools, model, text };
}

export async function quantize(tools: LlamaTools, from: string, to: string, type: string): Promise<string> {
  await runLlamaTool('llama-quantize', [from, to, type], { tools });
  return to;
}

/** A GGUF artifact entry for a real file (size and sha256 measured). */
export async function ggufEntry(file: string, target: 'Q8_0' | 'Q4_K_M'): Promise<Artifact> {
  const base = ggufArtifactFor(file, Buffer.alloc(0), { target, strategy: 'naive' });
  return { ...base, sizeBytes: statSync(file).size, sha256: await sha256File(file) };
}

/** Writes manifest.json in `dir` listing `artifacts`, with `baseline` (paths relative to dir). */
export async function writeTestManifest(
  dir: string,
  artifacts: Artifact[],
  baseline: Baseline | null,
  source?: Manifest['source'],
): Promise<string> {
  const manifest = manifestWith(artifacts);
  manifest.baseline = baseline;
  if (source) manifest.source = source;
  const file = path.join(dir, 'manifest.json');
  await writeFile(file, `${JSON.stringify(manifest, null, 2)}\n`);
  return file;
}

/** A baseline entry for `file`; a file outside `dir` is copied in, since manifests name only files inside their folder. */
export async function baselineEntry(dir: string, file: string, kept = true): Promise<Baseline> {
  let inside = path.relative(dir, file);
  if (inside.startsWith('..') || path.isAbsolute(inside)) {
    inside = path.basename(file);
    copyFileSync(file, path.join(dir, inside));
  }
  return {
    path: inside,
    sizeBytes: statSync(file).size,
    sha256: await sha256File(file),
    inputsKey: null,
    kept,
    quality: null,
  };
}
