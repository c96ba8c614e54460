/**
 * Token lists (text, score, type) for the three tokenizer sources, with llama.cpp's conventions:
 * ids the tokenizer does not define become "[PAD<id>]" UNUSED tokens up to the embedding size;
 * added tokens marked special (or that look special) are CONTROL, other added tokens USER_DEFINED
 * with SentencePiece's "▁" turned back into spaces (llama.cpp matches them pre-normalised).
 */
import { FormatError } from '../errors';
import { PieceType, type SentencePieceModel } from './sentencepiece';
import { ggufMerges, mergeParts, vocabEntries, type HfTokenizerJson, type JsonObject } from './tokenizer-json';

/** GGUF token types (llama_token_type); the same numbers as SentencePiece piece types. */
export const TokenType = {
  normal: PieceType.normal,
  unknown: PieceType.unknown,
  control: PieceType.control,
  userDefined: PieceType.userDefined,
  unused: PieceType.unused,
  byte: PieceType.byte,
} as const;

export interface TokenList {
  tokens: string[];
  /** tokenizer.ggml.scores (llama vocabularies); null for gpt2. */
  scores: Float32Array | null;
  tokenTypes: Int32Array;
}

/** Score given to ids the tokenizer leaves undefined and to added tokens (as llama.cpp's converter). */
const PAD_SCORE = -10000;
const ADDED_SCORE = -1000;

interface SpmOptions {
  nVocab: number;
  addedTokensJson: JsonObject | null;
  tokenizerConfig: JsonObject | null;
  log: (line: string) => void;
}

export function spmVocabFromModel(spm: SentencePieceModel, opts: SpmOptions): TokenList {
  const list = emptyList(opts.nVocab, true);
  const n = Math.min(spm.pieces.length, opts.nVocab);
  if (spm.pieces.length > opts.nVocab) {
    opts.log(
      `tokenizer.model has ${spm.pieces.length} pieces but the embedding has ${opts.nVocab} rows; pieces from id ${opts.nVocab} on are ` +
        `dropped`,
    );
  }
  for (let id = 0; id < n; id++) {
    const p = spm.pieces[id]!;
    list.tokens[id] = p.piece;
    list.scores![id] = p.score;
    list.tokenTypes[id] = p.type === PieceType.userDefined ? TokenType.normal : p.type;
  }
  for (const [text, id] of Object.entries(opts.addedTokensJson ?? {})) {
    if (!inRange(id, opts.nVocab, text, opts.log)) continue;
    list.tokens[id] = text;
    list.scores![id] = ADDED_SCORE;
    list.tokenTypes[id] = TokenType.userDefined;
  }
  const decoder = opts.tokenizerConfig?.added_tokens_decoder;
  if (decoder && typeof decoder === 'object') {
    for (const [key, data] of Object.entries(decoder as Record<string, { content?: unknown; special?: unknown }>)) {
      const id = Number(key);
      if (typeof data?.content !== 'string' || !inRange(id, opts.nVocab, data.content, opts.log)) continue;
      applyAddedToken(list, id, data.content, data.special === true);
    }
  }
  return list;
}

function inRange(id: unknown, nVocab: number, text: string, log: (l: string) => void): id is number {
  if (typeof id === 'number' && Number.isInteger(id) && id >= 0 && id < nVocab) return true;
  log(`added token ${JSON.stringify(text)} has id ${String(id)}, outside the vocabulary of ${nVocab}; ignored`);
  return false;
}

function applyAddedToken(list: TokenList, id: number, content: string, special: boolean): void {
  const isControl = special || looksSpecial(content);
  list.tokens[id] = isControl ? content : content.replaceAll('\u2581', ' ');
  list.tokenTypes[id] = isControl ? TokenType.control : TokenType.userDefined;
  if (list.scores) list.scores[id] = ADDED_SCORE;
}

/** Added tokens that some models forget to mark special, recognised by their shape. */
export function looksSpecial(text: string): boolean {
  return (
    text === '<pad>' ||
    text === '<mask>' ||
    text === '<2mass>' ||
    text === '[@BOS@]' ||
    (text.startsWith('<|') && text.endsWith('|>')) ||
    (text.startsWith('<\uff5c') && text.endsWith('\uff5c>')) ||
    (text.startsWith('<unused') && text.endsWith('>'))
  );
}

function emptyList(nVocab: number, withScores: boolean): TokenList {
  const tokens = new Array<string>(nVocab);
  for (let i = 0; i < nVocab; i++) tokens[i] = `[PAD${i}]`;
  const scores = withScores ? new Float32Array(nVocab).fill(PAD_SCORE) : null;
  const tokenTypes = new Int32Array(nVocab).fill(TokenType.unused);
  return { tokens, scores, tokenTypes };
}

function placeModelVocab(tj: HfTokenizerJson, list: TokenList, nVocab: number): void {
  for (const [token, id] of vocabEntries(tj.model)) {
    if (id >= nVocab) {
      throw new FormatError(
        `tokenizer.json has token ${JSON.stringify(token)} with id ${id}, but the model's embedding has only ${nVocab} rows; the ` +
          `tokenizer does not belong to these weights`,
      );
    }
    list.tokens[id] = token;
    list.tokenTypes[id] = TokenType.normal;
  }
}

function placeAddedTokens(tj: HfTokenizerJson, list: TokenList, nVocab: number, log: (l: string) => void): void {
  for (const t of tj.added_tokens) {
    if (!inRange(t.id, nVocab, t.content, log)) continue;
    applyAddedToken(list, t.id, t.content, t.special === true);
  }
}

/** Byte-level BPE (GPT-2 style): tokens, types and merges; no scores. */
export function bpeVocab(tj: HfTokenizerJson, opts: { nVocab: number; log: (l: string) => void }): TokenList & { merges: string[] } {
  const list = emptyList(opts.nVocab, false);
  placeModelVocab(tj, list, opts.nVocab);
  placeAddedTokens(tj, list, opts.nVocab, opts.log);
  return { ...list, merges: ggufMerges(tj.model) };
}

/** Score of tokens no merge produces: below every merge, so llama.cpp tries them last. */
const UNMERGED_SCORE = -1e9;

/**
 * A SentencePiece-style BPE tokenizer.json (byte fallback) as a llama vocabulary. llama.cpp's SPM
 * tokenizer merges the adjacent pair whose result has the highest score; giving each token minus
 * the rank of the first merge that produces it reproduces the BPE merge order.
 */
export function spmVocabFromTokenizerJson(tj: HfTokenizerJson, opts: { nVocab: number; log: (l: string) => void }): TokenList {
  const list = emptyList(opts.nVocab, true);
  placeModelVocab(tj, list, opts.nVocab);
  const scores = list.scores!;
  const index = new Map<string, number>();
  for (const [token, id] of vocabEntries(tj.model)) {
    index.set(token, id);
    scores[id] = token.length === 1 ? 0 : UNMERGED_SCORE;
    if (/^<0x[0-9A-Fa-f]{2}>$/.test(token)) list.tokenTypes[id] = TokenType.byte;
  }
  const merges = tj.model.merges ?? [];
  const seen = new Uint8Array(opts.nVocab);
  merges.forEach((m, rank) => {
    const parts = mergeParts(m);
    if (!parts) return;
    const id = index.get(parts[0] + parts[1]);
    if (id === undefined || seen[id]) return;
    seen[id] = 1;
    scores[id] = -rank;
  });
  const unk = tj.model.unk_token;
  if (typeof unk === 'string' && index.has(unk)) list.tokenTypes[index.get(unk)!] = TokenType.unknown;
  placeAddedTokens(tj, list, opts.nVocab, opts.log);
  return list;
}
