/**
 * Synthetic GGUF models (right names, shapes and hparams; zero weights) and `llama-quantize
 * --dry-run`, which prints the type llama.cpp would give every tensor without quantizing.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { GgufWriter } from '../../src/core/formats/gguf-writer';
import { parseGgmlType, tensorBytes, type GgmlTypeName } from '../../src/core/formats/ggml-types';
import type { ModelTensor } from '../../src/core/arch/model-tensor';
import { intermediateType } from '../../src/core/plan/intermediate-type';
import { runLlamaTool, type LlamaTools } from '../../src/core/llamacpp';
import type { LlamaShape } from '../fixtures/tensor-lists';

/** Writes an F16 GGUF of zeros with the hparams llama.cpp needs to run its quantization recipe. */
export async function writeSyntheticGguf(
  file: string,
  ggufArch: string,
  shape: LlamaShape,
  tensors: readonly ModelTensor[],
): Promise<void> {
  const w = new GgufWriter(file);
  const k = (key: string) => `${ggufArch}.${key}`;
  w.setString('general.architecture', ggufArch);
  w.setUint32('general.file_type', 1);
  w.setUint32(k('context_length'), 512);
  w.setUint32(k('embedding_length'), shape.hidden);
  w.setUint32(k('block_count'), shape.layers);
  w.setUint32(k('feed_forward_length'), shape.ffn);
  w.setUint32(k('attention.head_count'), shape.heads);
  w.setUint32(k('attention.head_count_kv'), shape.kvHeads);
  w.setFloat32(k('attention.layer_norm_rms_epsilon'), 1e-5);
  if (shape.experts) {
    w.setUint32(k('expert_count'), shape.experts);
    w.setUint32(k('expert_used_count'), shape.expertsPerToken ?? 2);
    w.setUint32(k('expert_feed_forward_length'), shape.ffn);
    if (shape.sharedFfn) w.setUint32(k('expert_shared_feed_forward_length'), shape.sharedFfn);
  }
  const types = tensors.map((t) => intermediateType(t.name, t.shape, 'F16'));
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
  const args = ['--dry-run'];
  if (overrides) {
    const file = path.join(path.dirname(input), `overrides-${target}.txt`);
    await writeFile(file, `${overrides.join('\n')}\n`);
    args.push('--tensor-type-file', file);
  }
  args.push(input, path.join(path.dirname(input), 'unused.gguf'), target);
  const result = await runLlamaTool('llama-quantize', args, { tools });
  return parseDryRun(`${result.stdout}\n${result.stderr}`);
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
