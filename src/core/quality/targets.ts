/**
 * What an evaluation runs on: the artifacts of a manifest (or one GGUF file) and the F16 baseline
 * they are compared with. Everything is checked to exist before any tool runs; a baseline that
 * the pipeline deleted (`kept: false`) is marked for rebuilding from the model's source.
 */
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { FormatError, OptionError, type Remedy, UsageError } from '../errors';
import type { GgufFile } from '../formats/gguf';
import { preflightGguf } from '../formats/gguf-preflight';
import { manifestRelative, readManifest } from '../manifest/io';
import type { ArtifactSummary, Manifest } from '../manifest/types';

/** An artifact to evaluate; its id is the manifest's, or the file name without .gguf. */
export type EvalTarget = ArtifactSummary;

export interface BaselineSpec {
  /** Absolute path of the F16 (or F32/BF16) GGUF. */
  path: string;
  /** sha256 and size recorded in the manifest, when the baseline is the manifest's own. */
  recorded: { sha256: string | null; sizeBytes: number | null } | null;
  exists: boolean;
  /** Where a missing baseline is rebuilt from (an HF folder), or null when it cannot be. */
  rebuildFrom: string | null;
  /** True when this is the manifest's own baseline (its quality is written back). */
  fromManifest: boolean;
}

export interface EvalInput {
  kind: 'manifest' | 'gguf';
  manifestPath: string | null;
  manifest: Manifest | null;
  targets: EvalTarget[];
  baseline: BaselineSpec | null;
}

export async function resolveEvalInput(input: string, explicitBaseline?: string): Promise<EvalInput> {
  const info = await stat(input).catch(() => null);
  if (!info) throw new UsageError(`${input} does not exist`);
  const explicit = explicitBaseline ? await explicitBaselineSpec(explicitBaseline) : null;
  if (info.isFile() && input.toLowerCase().endsWith('.gguf')) {
    return { kind: 'gguf', manifestPath: null, manifest: null, targets: [await ggufTarget(path.resolve(input))], baseline: explicit };
  }
  if (!info.isDirectory() && !input.toLowerCase().endsWith('.json')) {
    throw new UsageError(`${input}: pass a manifest.json (or the folder holding one) or a .gguf file`);
  }
  const { path: manifestPath, manifest } = await readManifest(input);
  const targets = manifest.artifacts.map((a) => {
    const p = manifestRelative(manifestPath, a.path);
    if (!existsSync(p))
      throw new FormatError(`artifact ${a.id} is missing (${p}): quantize the model again to rebuild it`, {
        path: manifestPath,
        remedies: [{ action: 'quantize' }] satisfies Remedy[],
      });
    return {
      id: a.id,
      path: p,
      format: a.format,
      strategy: a.strategy,
      imatrix: a.imatrix,
      target: a.target,
      sizeBytes: a.sizeBytes,
      bpw: a.bpw,
    };
  });
  if (!targets.length) throw new FormatError('/artifacts is empty: the manifest lists no artifacts to evaluate', { path: manifestPath });
  const own = manifestBaselineSpec(manifestPath, manifest);
  // --baseline naming the manifest's own intermediate is the manifest's baseline (its quality is recorded).
  const baseline = explicit && own && own.path === explicit.path ? own : (explicit ?? own);
  // Every GGUF that llama-perplexity will load passes the pre-flight check before any tool runs.
  for (const t of targets) if (t.format === 'gguf') await preflightGguf(t.path);
  if (baseline?.exists && baseline !== explicit) await preflightGguf(baseline.path);
  return { kind: 'manifest', manifestPath, manifest, targets, baseline };
}

async function explicitBaselineSpec(file: string): Promise<BaselineSpec> {
  const p = path.resolve(file);
  const info = await stat(p).catch(() => null);
  if (!info?.isFile()) throw new OptionError('baseline', p, 'an existing F16 GGUF file');
  await preflightGguf(p);
  return { path: p, recorded: null, exists: true, rebuildFrom: null, fromManifest: false };
}

function manifestBaselineSpec(manifestPath: string, manifest: Manifest): BaselineSpec | null {
  const b = manifest.baseline;
  if (!b) return null;
  const p = manifestRelative(manifestPath, b.path);
  const exists = existsSync(p);
  const src = manifest.source;
  // A GGUF source (requantization of an F16/BF16/F32 file) is its own baseline when the
  // intermediate is gone; an HF folder (or a Hub snapshot) is converted again.
  if (!exists && src.kind === 'gguf' && existsSync(src.path)) {
    return { path: path.resolve(src.path), recorded: null, exists: true, rebuildFrom: null, fromManifest: true };
  }
  const rebuildFrom = src.kind !== 'gguf' && existsSync(src.path) ? src.path : null;
  return { path: p, recorded: { sha256: b.sha256, sizeBytes: b.sizeBytes }, exists, rebuildFrom, fromManifest: true };
}

async function ggufTarget(file: string): Promise<EvalTarget> {
  const header = await preflightGguf(file);
  return {
    id: path.basename(file).replace(/\.gguf$/i, ''),
    path: file,
    format: 'gguf',
    strategy: null,
    imatrix: null,
    target: null,
    sizeBytes: header.fileSize,
    bpw: ggufBitsPerWeight(header),
  };
}

/** Bits per weight of a GGUF: tensor data bits over tensor elements. */
export function ggufBitsPerWeight(file: GgufFile): number | null {
  let bytes = 0;
  let elements = 0;
  for (const t of file.tensors) {
    bytes += t.byteLength;
    elements += t.shape.reduce((a, b) => a * b, 1);
  }
  return elements ? (bytes * 8) / elements : null;
}

/** Vocabulary size of a GGUF (the tokenizer's token list), as llama.cpp counts it. */
export function ggufVocabSize(file: GgufFile): number {
  const kv = file.metadata.get('tokenizer.ggml.tokens');
  if (!kv || !Array.isArray(kv.value))
    throw new FormatError('no tokenizer.ggml.tokens: llama-perplexity cannot evaluate a GGUF without a tokenizer', { path: file.path });
  return kv.value.length;
}
