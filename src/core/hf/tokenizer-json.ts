/**
 * Hugging Face `tokenizer.json` (the "fast" tokenizer file): reading it with named limits, and the
 * few views of it the GGUF vocabulary needs (id -> token, merges as GGUF strings, added tokens).
 */
import { promises as fsp } from 'node:fs';
import { FormatError } from '../errors';

/** Largest tokenizer.json accepted (Gemma 3's is 33 MB, the largest common ones ~40 MB). */
export const MAX_TOKENIZER_JSON_BYTES = 256 << 20;

export type JsonObject = { [key: string]: unknown };

export interface HfAddedToken {
  id: number;
  content: string;
  special?: boolean;
  normalized?: boolean;
  lstrip?: boolean;
  rstrip?: boolean;
  single_word?: boolean;
}

export interface HfTokenizerModel {
  type: string;
  /** BPE/WordPiece: token -> id. Unigram: [piece, score][]. */
  vocab: Record<string, number> | [string, number][];
  merges?: string[] | [string, string][];
  byte_fallback?: boolean;
  ignore_merges?: boolean;
  unk_token?: string | null;
}

export interface HfTokenizerJson {
  added_tokens: HfAddedToken[];
  normalizer: JsonObject | null;
  pre_tokenizer: JsonObject | null;
  post_processor: JsonObject | null;
  decoder: JsonObject | null;
  model: HfTokenizerModel;
}

export async function readTokenizerJson(path: string): Promise<HfTokenizerJson> {
  const stat = await fsp.stat(path);
  if (stat.size > MAX_TOKENIZER_JSON_BYTES) {
    throw new FormatError(`tokenizer.json is ${stat.size} bytes, more than the ${MAX_TOKENIZER_JSON_BYTES} accepted`, { path });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(await fsp.readFile(path, 'utf8'));
  } catch (error) {
    throw new FormatError(`tokenizer.json is not valid JSON (${(error as Error).message}); re-download it`, { path });
  }
  return validateTokenizerJson(parsed, path);
}

export function validateTokenizerJson(parsed: unknown, path = 'tokenizer.json'): HfTokenizerJson {
  if (!isObject(parsed) || !isObject(parsed.model)) {
    throw new FormatError('tokenizer.json has no "model" object; is this a Hugging Face tokenizer file?', { path });
  }
  const model = parsed.model;
  if (typeof model.type !== 'string') {
    // Old files omit model.type for BPE; infer it from the fields present.
    if (isObject(model.vocab) && Array.isArray(model.merges)) model.type = 'BPE';
    else throw new FormatError('tokenizer.json model has no "type"', { path });
  }
  if (!isObject(model.vocab) && !Array.isArray(model.vocab)) {
    throw new FormatError('tokenizer.json model has no "vocab"', { path });
  }
  const added = parsed.added_tokens ?? [];
  if (!Array.isArray(added)) throw new FormatError('tokenizer.json "added_tokens" is not a list', { path });
  for (const t of added) {
    if (!isObject(t) || !Number.isInteger(t.id) || (t.id as number) < 0 || typeof t.content !== 'string') {
      throw new FormatError(`tokenizer.json has a malformed added token: ${JSON.stringify(t).slice(0, 120)}`, { path });
    }
  }
  return {
    added_tokens: added as HfAddedToken[],
    normalizer: asObjectOrNull(parsed.normalizer),
    pre_tokenizer: asObjectOrNull(parsed.pre_tokenizer),
    post_processor: asObjectOrNull(parsed.post_processor),
    decoder: asObjectOrNull(parsed.decoder),
    model: model as unknown as HfTokenizerModel,
  };
}

/** token -> id of a BPE/WordPiece model vocabulary, as entries (Unigram vocabularies are lists). */
export function vocabEntries(model: HfTokenizerModel, path = 'tokenizer.json'): [string, number][] {
  if (Array.isArray(model.vocab)) {
    return model.vocab.map(([piece], id) => [piece, id]);
  }
  const entries = Object.entries(model.vocab);
  for (const [token, id] of entries) {
    if (!Number.isInteger(id) || id < 0) throw new FormatError(`token ${JSON.stringify(token)} has invalid id ${String(id)}`, { path });
  }
  return entries;
}

/**
 * BPE merges as GGUF stores them: "left right". tokenizer.json since transformers 4.45 may store
 * pairs, whose parts can contain spaces; llama.cpp encodes such spaces as U+0120 ("Ġ"), the
 * byte-level alphabet's space, so the pair still splits on the one real space.
 */
export function ggufMerges(model: HfTokenizerModel, path = 'tokenizer.json'): string[] {
  const merges = model.merges ?? [];
  if (!Array.isArray(merges)) throw new FormatError('tokenizer.json "merges" is not a list', { path });
  return merges.map((m, i) => {
    if (typeof m === 'string') return m;
    if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') {
      return `${encodeMergeSpaces(m[0])} ${encodeMergeSpaces(m[1])}`;
    }
    throw new FormatError(`merge ${i} is neither "a b" nor ["a", "b"]: ${JSON.stringify(m).slice(0, 80)}`, { path });
  });
}

function encodeMergeSpaces(part: string): string {
  return part.includes(' ') ? part.replaceAll(' ', '\u0120') : part;
}

/** The two parts of a merge in either storage form. */
export function mergeParts(m: string | [string, string]): [string, string] | undefined {
  if (Array.isArray(m)) return m;
  const space = m.indexOf(' ', 1);
  return space < 0 ? undefined : [m.slice(0, space), m.slice(space + 1)];
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function asObjectOrNull(v: unknown): JsonObject | null {
  return isObject(v) ? v : null;
}
