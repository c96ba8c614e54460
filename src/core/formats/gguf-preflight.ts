/**
 * The GGUF pre-flight check: run on every file before llama.cpp (a tool, or node-llama-cpp in
 * any process) sees it. llama.cpp trusts much of a file and answers a bad one with an assertion
 * that aborts its process; this check reads the file with the project's own reader and rejects,
 * with a FormatError that says what and where, everything llama.cpp would choke on:
 *
 * - the header and tensor table (./gguf: counts within limits, known types, whole blocks, data
 *   inside the file, no overlaps);
 * - llama.cpp's layout rules (ggml/src/gguf.cpp): tensors in file order, each starting where the
 *   previous one's padded data ends, every tensor at a 32-byte boundary (ggml's TENSOR_ALIGNMENT,
 *   which the CPU backend asserts), no dimension of 0, and no data after the last tensor beyond
 *   its padding (a table cut short leaves exactly that);
 * - for a model: an architecture and block count, hyperparameters that make sense and match the
 *   tensors (../arch/gguf-hyperparameters), and a vocabulary llama.cpp can index (unique tokens,
 *   one score and one type per token, special token ids inside the vocabulary).
 *
 * Usage: `const file = await preflightGguf(path)` (a model), or `{ kind: 'data' }` for a GGUF that
 * is not a model (an importance matrix): structure and layout only.
 */
import { checkGgufHyperparameters } from '../arch/gguf-hyperparameters';
import { MAX_VOCAB_SIZE } from '../arch/hyperparameter-limits';
import { open } from 'node:fs/promises';
import { FormatError, throwIfCancelled } from '../errors';
import { readGgufHeader } from './gguf';
import { GGUF_MAGIC, GgufValueType, ggufValueTypeName } from './gguf-constants';
import type { GgufFile, GgufKv } from './gguf-types';

/** ggml's TENSOR_ALIGNMENT: the CPU backend asserts that tensor data starts on such a boundary. */
export const GGML_TENSOR_ALIGNMENT = 32;
/** llama.cpp's "no token" id, as a u32 (LLAMA_TOKEN_NULL = -1). */
const TOKEN_NULL_U32 = 0xffffffff;
/** Hyperparameters llama.cpp's loader requires of every model (llama-model.cpp, load_hparams). */
const LLAMA_REQUIRED_KEYS = ['block_count', 'context_length', 'embedding_length'];
/** Tokenizer models that carry no vocabulary. */
const NO_VOCAB_MODELS = new Set(['none', 'no_vocab']);

export interface GgufPreflightOptions {
  signal?: AbortSignal;
  /** 'model' (default): a model llama.cpp will load. 'data': any other GGUF (an imatrix), checked for structure only. */
  kind?: 'model' | 'data';
}

/** Reads and checks `path`; returns the header, or throws a FormatError naming the file and the problem. */
export async function preflightGguf(path: string, opts: GgufPreflightOptions = {}): Promise<GgufFile> {
  throwIfCancelled(opts.signal);
  const file = await readGgufHeader(path, { signal: opts.signal });
  throwIfCancelled(opts.signal);
  checkGgufForLlama(file, opts.kind ?? 'model');
  return file;
}

/** Whether the file starts with the GGUF magic (cheap: reads 4 bytes). */
export async function hasGgufMagic(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(4), 0, 4, 0);
    return bytesRead === 4 && buffer.equals(GGUF_MAGIC);
  } finally {
    await handle.close();
  }
}

/** The checks of preflightGguf on a header already read. */
export function checkGgufForLlama(file: GgufFile, kind: 'model' | 'data' = 'model'): void {
  checkLlamaLayout(file);
  if (kind === 'data') return;
  const arch = file.metadata.get('general.architecture');
  if (arch?.type !== GgufValueType.STRING || !arch.value) {
    throw new FormatError('no general.architecture string in the metadata: not a model llama.cpp can load', { path: file.path });
  }
  // llama.cpp reads these for every architecture and cannot load a model without them.
  for (const key of LLAMA_REQUIRED_KEYS) {
    if (!file.metadata.has(`${String(arch.value)}.${key}`)) {
      throw new FormatError(`no ${String(arch.value)}.${key} in the metadata: the file is incomplete`, { path: file.path });
    }
  }
  checkVocabulary(file);
  checkGgufHyperparameters(file);
}

function checkLlamaLayout(file: GgufFile): void {
  const { path, alignment, dataOffset } = file;
  let expected = 0;
  for (const t of file.tensors) {
    const where = { path, tensor: t.name, offset: dataOffset + t.offset };
    if (t.shape.some((d) => d === 0)) {
      throw new FormatError(`shape [${t.shape.join(', ')}] has a dimension of 0, which llama.cpp cannot load`, where);
    }
    if ((dataOffset + t.offset) % GGML_TENSOR_ALIGNMENT !== 0) {
      throw new FormatError(
        `data starts at byte ${dataOffset + t.offset}, not on a ${GGML_TENSOR_ALIGNMENT}-byte boundary (general.alignment is ` +
          `${alignment}); llama.cpp needs aligned tensor data`,
        where,
      );
    }
    if (t.offset !== expected) {
      throw new FormatError(
        `data offset is ${t.offset}, but llama.cpp expects the tensors in file order, each right after the previous one's ` +
          `padded data (here ${expected})`,
        where,
      );
    }
    expected = t.offset + padded(t.byteLength, alignment);
  }
  const last = file.tensors.at(-1);
  const dataEnd = dataOffset + (last ? last.offset + last.byteLength : 0);
  if (last && file.fileSize > dataOffset + expected) {
    throw new FormatError(
      `${file.fileSize - dataEnd} bytes after the last tensor's data belong to no tensor; the tensor table was cut short or ` +
        `the file is corrupt`,
      { path, offset: dataEnd },
    );
  }
}

function padded(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

/** What llama.cpp's vocabulary loader indexes without checking (llama-vocab.cpp). */
function checkVocabulary(file: GgufFile): void {
  const fail = (message: string): never => {
    throw new FormatError(message, { path: file.path });
  };
  const model = file.metadata.get('tokenizer.ggml.model');
  if (model !== undefined && model.type !== GgufValueType.STRING)
    fail(`metadata "tokenizer.ggml.model" is ${typeName(model)}, expected a string`);
  const tokensKv = file.metadata.get('tokenizer.ggml.tokens');
  if (tokensKv === undefined) {
    if (model === undefined || NO_VOCAB_MODELS.has(model.value as string)) return;
    fail('no tokenizer.ggml.tokens: the file has a tokenizer model but no vocabulary');
  }
  if (tokensKv!.type !== GgufValueType.ARRAY || tokensKv!.itemType !== GgufValueType.STRING) {
    fail(`metadata "tokenizer.ggml.tokens" is ${typeName(tokensKv!)}, expected an array of strings`);
  }
  const tokens = tokensKv!.value as readonly string[];
  if (tokens.length === 0 || tokens.length > MAX_VOCAB_SIZE) {
    fail(`metadata "tokenizer.ggml.tokens" lists ${tokens.length} tokens; a vocabulary holds 1 to ${MAX_VOCAB_SIZE} (MAX_VOCAB_SIZE)`);
  }
  const seen = new Map<string, number>();
  tokens.forEach((token, i) => {
    const first = seen.get(token);
    if (first !== undefined)
      fail(`tokenizer.ggml.tokens lists ${JSON.stringify(token)} twice (ids ${first} and ${i}); llama.cpp needs unique tokens`);
    seen.set(token, i);
  });
  perTokenArray(file, 'tokenizer.ggml.scores', GgufValueType.FLOAT32, tokens.length, fail);
  perTokenArray(file, 'tokenizer.ggml.token_type', GgufValueType.INT32, tokens.length, fail);
  const merges = file.metadata.get('tokenizer.ggml.merges');
  if (merges && (merges.type !== GgufValueType.ARRAY || merges.itemType !== GgufValueType.STRING)) {
    fail(`metadata "tokenizer.ggml.merges" is ${typeName(merges)}, expected an array of strings`);
  }
  for (const [key, kv] of file.metadata) {
    if (!/^tokenizer\.ggml\.\w+_token_id$/.test(key)) continue;
    const id = kv.type === GgufValueType.ARRAY || typeof kv.value !== 'number' ? NaN : kv.value;
    const isNull = id === TOKEN_NULL_U32 || id === -1;
    if (!isNull && !(Number.isInteger(id) && id >= 0 && id < tokens.length)) {
      fail(`metadata "${key}" is ${String(kv.value)}, not the id of one of the ${tokens.length} tokens`);
    }
  }
}

/** An array llama.cpp reads at every token id: it must have exactly one element per token, of its type. */
function perTokenArray(file: GgufFile, key: string, itemType: GgufValueType, n: number, fail: (m: string) => never): void {
  const kv = file.metadata.get(key);
  if (kv === undefined) return;
  if (kv.type !== GgufValueType.ARRAY || kv.itemType !== itemType) {
    fail(`metadata "${key}" is ${typeName(kv)}, expected an array of ${ggufValueTypeName(itemType)}`);
  }
  if (kv.value.length !== n) fail(`metadata "${key}" has ${kv.value.length} entries for ${n} tokens; it needs one per token`);
}

function typeName(kv: GgufKv): string {
  return kv.type === GgufValueType.ARRAY ? `an array of ${ggufValueTypeName(kv.itemType)}` : `a ${ggufValueTypeName(kv.type)}`;
}
