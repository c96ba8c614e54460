/**
 * The vocabulary of a Hugging Face model folder as a GGUF needs it. The files decide the path, not
 * the architecture: a SentencePiece `tokenizer.model` becomes a `llama` vocabulary (scores, token
 * types, byte tokens); a byte-level BPE `tokenizer.json` becomes a `gpt2` vocabulary with merges and
 * the pre-tokenizer name llama.cpp needs; a SentencePiece-style BPE `tokenizer.json` (byte fallback,
 * no tokenizer.model) becomes a `llama` vocabulary whose scores follow the merge order.
 */
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { FormatError, UnsupportedError } from '../errors';
import { type Logger, noLog } from '../job';
import { readSentencePieceModel, type SentencePieceModel } from './sentencepiece';
import { resolveSpecialVocab, type SpecialVocab } from './tokenizer-special';
import { isObject, readTokenizerJson, type HfTokenizerJson, type JsonObject } from './tokenizer-json';
import { identifyPreTokenizer } from './tokenizer-pre';
import { bpeVocab, spmVocabFromModel, spmVocabFromTokenizerJson, type TokenList } from './tokenizer-vocab';

export { TokenType } from './tokenizer-vocab';

export interface GgufVocab extends TokenList {
  /** tokenizer.ggml.model */
  model: 'llama' | 'gpt2';
  /** tokenizer.ggml.pre */
  pre: string;
  /** gpt2 only: "left right" merges. */
  merges: string[] | null;
  special: SpecialVocab;
  /** tokenizer.ggml.add_space_prefix when it must be written (SentencePiece without a dummy prefix). */
  addSpacePrefix: boolean | null;
  /** Which files it came from and how, for logs and reports. */
  description: string;
}

export interface VocabOptions {
  /** Rows of the token embedding: the vocabulary is padded (or checked) to this size. */
  nVocab: number;
  /** config.json (root object). */
  config: JsonObject;
  /** Forces tokenizer.ggml.pre for byte-level BPE tokenizers. */
  preTokenizer?: string;
  log?: Logger;
}

export const TOKENIZER_FILES = ['tokenizer.model', 'tokenizer.json'] as const;

/** True when the folder holds a tokenizer this module can read (checked before heavy work). */
export function hasTokenizer(dir: string): boolean {
  return TOKENIZER_FILES.some((f) => existsSync(path.join(dir, f)));
}

export async function loadGgufVocab(dir: string, opts: VocabOptions): Promise<GgufVocab> {
  const log = opts.log ?? noLog;
  const spmPath = path.join(dir, 'tokenizer.model');
  const jsonPath = path.join(dir, 'tokenizer.json');
  const tokenizerConfig = await readJsonIfPresent(path.join(dir, 'tokenizer_config.json'));
  const tokenizerJson = existsSync(jsonPath) ? await readTokenizerJson(jsonPath) : null;

  let spm: SentencePieceModel | null = null;
  if (existsSync(spmPath)) {
    try {
      spm = await readSentencePieceModel(spmPath);
    } catch (error) {
      if (!tokenizerJson) throw error;
      log(`tokenizer.model is not a SentencePiece model (${(error as Error).message}); using tokenizer.json`);
    }
  }
  if (!spm && !tokenizerJson) {
    throw new FormatError(
      'no tokenizer found: the model folder needs tokenizer.model (SentencePiece) or tokenizer.json (Hugging Face tokenizers); copy ' +
        'them from the original model repository',
      { path: dir },
    );
  }

  let base: Omit<GgufVocab, 'special'>;
  if (spm) {
    const addedTokensJson = await readJsonIfPresent(path.join(dir, 'added_tokens.json'));
    base = {
      ...spmVocabFromModel(spm, { nVocab: opts.nVocab, addedTokensJson, tokenizerConfig, log }),
      model: 'llama',
      pre: 'default',
      merges: null,
      addSpacePrefix: spm.addDummyPrefix ? null : false,
      description: `SentencePiece tokenizer.model (${spm.modelType}, ${spm.pieces.length} pieces)`,
    };
  } else {
    base = vocabFromTokenizerJson(tokenizerJson!, opts, log);
  }
  const prefix = tokenizerConfig?.add_prefix_space;
  if (typeof prefix === 'boolean' && base.model === 'llama') base.addSpacePrefix = prefix;

  const index = new Map<string, number>();
  base.tokens.forEach((t, i) => {
    if (!index.has(t)) index.set(t, i);
  });
  const special = await resolveSpecialVocab({
    dir,
    tokenizerJson,
    tokenizerConfig,
    config: opts.config,
    nVocab: base.tokens.length,
    tokenId: (text) => index.get(text),
    log,
  });
  return { ...base, special };
}

function vocabFromTokenizerJson(tj: HfTokenizerJson, opts: VocabOptions, log: (l: string) => void): Omit<GgufVocab, 'special'> {
  const model = tj.model;
  if (model.type !== 'BPE') {
    throw new UnsupportedError(
      `tokenizer.json uses a ${model.type} model; Llama-Pajamas converts BPE tokenizer.json files and SentencePiece tokenizer.model files`,
    );
  }
  if (model.byte_fallback) {
    return {
      ...spmVocabFromTokenizerJson(tj, { nVocab: opts.nVocab, log }),
      model: 'llama',
      pre: 'default',
      merges: null,
      addSpacePrefix: prependsSpace(tj) ? null : false,
      description: 'SentencePiece-style BPE tokenizer.json (byte fallback), scores from the merge order',
    };
  }
  const decoder = tj.decoder?.type;
  if (decoder !== 'ByteLevel') {
    throw new UnsupportedError(
      `tokenizer.json is a BPE model without byte fallback whose decoder is ${String(decoder)}, not ByteLevel; this tokenizer family ` +
        `is not supported`,
    );
  }
  const pre = identifyPreTokenizer(tj, opts.preTokenizer);
  log(`tokenizer.ggml.pre = ${pre.name} (${pre.reason})`);
  const list = bpeVocab(tj, { nVocab: opts.nVocab, log });
  return {
    ...list,
    model: 'gpt2',
    pre: pre.name,
    addSpacePrefix: null,
    description: `byte-level BPE tokenizer.json (${list.merges.length} merges, pre-tokenizer ${pre.name})`,
  };
}

/** Whether an SPM-style tokenizer.json adds the "▁" dummy prefix (a Prepend normalizer or Metaspace). */
function prependsSpace(tj: HfTokenizerJson): boolean {
  const has = (node: JsonObject | null, test: (n: JsonObject) => boolean): boolean => {
    if (!node) return false;
    if (test(node)) return true;
    const children = [node.normalizers, node.pretokenizers].find(Array.isArray) as unknown[] | undefined;
    return !!children?.some((c) => isObject(c) && has(c, test));
  };
  return (
    has(tj.normalizer, (n) => n.type === 'Prepend') ||
    has(tj.pre_tokenizer, (n) => n.type === 'Metaspace' && n.prepend_scheme !== 'never' && n.add_prefix_space !== false)
  );
}

async function readJsonIfPresent(file: string): Promise<JsonObject | null> {
  if (!existsSync(file)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(await fsp.readFile(file, 'utf8'));
  } catch (error) {
    throw new FormatError(`not valid JSON (${(error as Error).message})`, { path: file });
  }
  if (!isObject(parsed)) throw new FormatError('expected a JSON object', { path: file });
  return parsed;
}
