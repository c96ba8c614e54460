/**
 * The valid files the fuzzer mutates, generated (never taken from ../shared, so the suite is
 * hermetic): a dense and a mixture-of-experts Hugging Face folder from the converter's tiny-model
 * builder, their GGUFs written by the project's own converter, and a manifest listing a GGUF and an
 * MLX artifact with their real sizes and hashes.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { detectArchitecture } from '../../src/core/arch/detect';
import { convertToGguf } from '../../src/core/convert';
import type { Manifest, MlxArtifact } from '../../src/core/manifest/types';
import { ggufArtifactFor, manifestWith, sha256 } from '../fixtures/manifest';
import { buildTinyModel } from '../fixtures/models/tiny-models';

export interface Seeds {
  /** Hugging Face folders by name. */
  hf: Record<'dense' | 'moe', string>;
  /** GGUF files by name. */
  gguf: Record<'dense' | 'moe', string>;
  /** A folder holding manifest.json and its artifacts. */
  manifestDir: string;
}

export async function buildSeeds(root: string): Promise<Seeds> {
  const hf = { dense: path.join(root, 'hf-dense'), moe: path.join(root, 'hf-moe') };
  mkdirSync(hf.dense, { recursive: true });
  mkdirSync(hf.moe, { recursive: true });
  buildTinyModel('llama', { dir: hf.dense, dtype: 'F16', seed: 7 });
  buildTinyModel('qwen3_moe', { dir: hf.moe, dtype: 'BF16', seed: 8 });
  const gguf = { dense: path.join(root, 'dense.gguf'), moe: path.join(root, 'moe.gguf') };
  await convertToGguf(hf.dense, { outPath: gguf.dense });
  await convertToGguf(hf.moe, { outPath: gguf.moe });
  const manifestDir = path.join(root, 'manifest');
  await writeSeedManifest(manifestDir, gguf.dense, hf.dense);
  return { hf, gguf, manifestDir };
}

async function writeSeedManifest(dir: string, gguf: string, hfDir: string): Promise<void> {
  mkdirSync(path.join(dir, 'tiny-mlx-4bit-pajamas'), { recursive: true });
  const artifactPath = path.join(dir, 'tiny-Q8_0-naive.gguf');
  copyFileSync(gguf, artifactPath);
  const bytes = readFileSync(artifactPath);
  const ggufArtifact = ggufArtifactFor(artifactPath, bytes, { target: 'Q8_0', strategy: 'naive', bpw: 16 });
  const mlxFiles = ['config.json', 'tokenizer.model'].map((name) => {
    const content = readFileSync(path.join(hfDir, name));
    writeFileSync(path.join(dir, 'tiny-mlx-4bit-pajamas', name), content);
    return { path: name, sizeBytes: content.length, sha256: sha256(content) };
  });
  const mlx: MlxArtifact = {
    id: 'tiny-mlx-4bit-pajamas',
    format: 'mlx',
    path: 'tiny-mlx-4bit-pajamas',
    target: 'mlx-4bit',
    strategy: 'pajamas',
    imatrix: false,
    sizeBytes: mlxFiles.reduce((n, f) => n + f.sizeBytes, 0),
    bpw: 4.5,
    bits: 4,
    groupSize: 64,
    files: mlxFiles,
    tensorBits: { '4': 10, keep: 3 },
    inputsKey: sha256('mlx inputs'),
    createdAt: '2026-11-26T10:00:00.000Z',
    quality: null,
  };
  const manifest: Manifest = { ...manifestWith([ggufArtifact, mlx]), architecture: await detectArchitecture(gguf) };
  writeFileSync(path.join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}
