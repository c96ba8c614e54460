/**
 * Synthetic GGUF models (right names, shapes and hparams; zero weights) and `llama-quantize
 * --dry-run`, which prints the type llama.cpp would give every tensor without quantizing.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { GgufWriter } from '../../src/core/formats/gguf-writer';
import { ggmlType, isGgmlTypeName, parseGgmlType, tensorBytes, type GgmlTypeName } from '../../src/core/formats/ggml-types';
import type { ModelTensor } from '../../src/core/arch/model-tensor';
import { intermediateType } from '../../src/core/plan/intermediate-type';
import { runLlamaTool, type LlamaTools } from '../../src/core/llamacpp';
import type { GptOssShape, LlamaShape } from '../fixtures/tensor-lists';

/** Writes an F16 GGUF of zeros with the hparams llama.cpp needs to run its quantization recipe. */
export async function writeSyntheticGguf(
  file: string,
  ggufArch: string,
  shape: LlamaShape,
  tensors: readonly ModelTensor[],
): Promise<void> {
  const hparams: Record<string, number> = {
    context_length: 512,
    embedding_length: shape.hidden,
    block_count: shape.layers,
    feed_forward_length: shape.ffn,
    'attention.head_count': shape.heads,
    'attention.head_count_kv': shape.kvHeads,
  };
  if (shape.experts) {
    Object.assign(hparams, {
      expert_count: shape.experts,
      expert_used_count: shape.expertsPerToken ?? 2,
      expert_feed_forward_length: shape.ffn,
    });
    if (shape.sharedFfn) hparams.expert_shared_feed_forward_length = shape.sharedFfn;
  }
  await writeZerosGguf(file, ggufArch, hparams, tensors);
}

/** The same for gpt-oss (its loader also needs the sliding window and the head size). */
export async function writeSyntheticGptOss(file: string, s: GptOssShape, tensors: readonly ModelTensor[]): Promise<void> {
  await writeZerosGguf(
    file,
    'gpt-oss',
    {
      context_length: 4096,
      embedding_length: s.hidden,
      block_count: s.layers,
      feed_forward_length: s.ffn,
      'attention.head_count': s.heads,
      'attention.head_count_kv': s.kvHeads,
      'attention.key_length': s.headDim,
      'attention.value_length': s.headDim,
      'attention.sliding_window': 128,
      expert_count: s.experts,
      expert_used_count: 4,
      expert_feed_forward_length: s.ffn,
    },
    tensors,
  );
}

/**
 * A GGUF of zeros: u32 hyperparameters under the architecture's prefix, and each tensor in the
 * intermediate type the converter would write (or its quantized source type, e.g. MXFP4 experts).
 */
async function writeZerosGguf(
  file: string,
  ggufArch: string,
  hparams: Record<string, number>,
  tensors: readonly ModelTensor[],
): Promise<void> {
  const w = new GgufWriter(file);
  w.setString('general.architecture', ggufArch);
  w.setUint32('general.file_type', 1);
  for (const [key, value] of Object.entries(hparams)) w.setUint32(`${ggufArch}.${key}`, value);
  w.setFloat32(`${ggufArch}.attention.layer_norm_rms_epsilon`, 1e-5);
  const quantized = (t: ModelTensor) =>
    t.sourceDtype && isGgmlTypeName(t.sourceDtype) && ggmlType(t.sourceDtype).quantized ? t.sourceDtype : null;
  const types = tensors.map((t) => quantized(t) ?? intermediateType(t.name, t.shape, 'F16'));
  tensors.forEach((t, i) => w.addTensor({ name: t.name, shape: t.shape, type: types[i]! }));
  await w.writeHeader();
  for (const [i, t] of tensors.entries()) await w.writeTensor(t.name, new Uint8Array(tensorBytes(types[i]!, t.shape)));
  await w.finish();
}

/** Runs llama-quantize --dry-run and returns the type it reports for every tensor. */
export async function dryRunTypes(
  tools: LlamaTools,
  input: string,
  target: string,
  overrides?: string[],
): Promise<Map<string, GgmlTypeName>> {
  // The input may sit in a read-only or shared folder (../shared): the type file goes to a temp folder.
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pajamas-dry-run-'));
  try {
    const args = ['--dry-run'];
    if (overrides) {
      const file = path.join(dir, `overrides-${target}.txt`);
      await writeFile(file, `${overrides.join('\n')}\n`);
      args.push('--tensor-type-file', file);
    }
    args.push(input, path.join(dir, 'unused.gguf'), target);
    const result = await runLlamaTool('llama-quantize', args, { tools });
    return parseDryRun(`${result.stdout}\n${result.stderr}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `[   3/ 123] token_embd.weight - [ 256, 300, 1, 1], type = f16, size = 0.15 MiB -> 0.04 MiB (q4_K)` */
export function parseDryRun(output: string): Map<string, GgmlTypeName> {
  const types = new Map<string, GgmlTypeName>();
  const line = /^\[\s*\d+\/\s*\d+\]\s+(\S+)\s+-\s+\[[^\]]*\],\s+type\s+=\s+(\w+),.*?(?:->.*\((\w+)\))?\s*$/;
  for (const text of output.split('\n')) {
    const m = line.exec(text.trim());
    if (!m) continue;
    const type = parseGgmlType(m[3] ?? m[2]!);
    if (!type) throw new Error(`unknown type in dry-run line: ${text}`);
    types.set(m[1]!, type);
  }
  return types;
}
