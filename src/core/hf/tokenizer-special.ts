/**
 * Special tokens, add-BOS/EOS flags, normalizer flags and chat templates of a Hugging Face model
 * folder, resolved the way llama.cpp's converter resolves them (gguf-py SpecialVocab): the token
 * strings named in tokenizer_config.json are looked up among tokenizer.json's added tokens; ids in
 * config.json fill the gaps; tokenizer.json's post-processor template says whether BOS/EOS are added.
 */
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { isObject, type HfTokenizerJson, type JsonObject } from './tokenizer-json';

export const SPECIAL_TOKEN_TYPES = ['bos', 'eos', 'unk', 'sep', 'pad', 'cls', 'mask', 'eot', 'eom'] as const;
export type SpecialTokenType = (typeof SPECIAL_TOKEN_TYPES)[number];

export interface NamedChatTemplate {
  name: string;
  template: string;
}

export interface SpecialVocab {
  ids: Partial<Record<SpecialTokenType, number>>;
  add: Partial<Record<'bos' | 'eos' | 'sep', boolean>>;
  /** One template, or several named ones ("default" first). */
  chatTemplate: string | NamedChatTemplate[] | null;
  normalizerLowercase: boolean | null;
  normalizerStripAccents: boolean | null;
}

export interface SpecialVocabInput {
  dir: string;
  tokenizerJson: HfTokenizerJson | null;
  tokenizerConfig: JsonObject | null;
  /** config.json (root); its text_config is consulted too. */
  config: JsonObject;
  nVocab: number;
  /** token text -> id of the final vocabulary, the last fallback for token strings. */
  tokenId: (text: string) => number | undefined;
  log: (line: string) => void;
}

const CONFIG_TYPES = ['bos', 'eos', 'unk', 'sep', 'pad', 'cls', 'mask'] as const;

export async function resolveSpecialVocab(input: SpecialVocabInput): Promise<SpecialVocab> {
  const result: SpecialVocab = { ids: {}, add: {}, chatTemplate: null, normalizerLowercase: null, normalizerStripAccents: null };
  const set = (type: SpecialTokenType, id: unknown): void => {
    if (typeof id !== 'number' || !Number.isInteger(id) || result.ids[type] !== undefined) return;
    if (id < 0 || id >= input.nVocab) {
      input.log(`special token ${type} id ${id} is outside the vocabulary of ${input.nVocab}; ignored`);
      return;
    }
    result.ids[type] = id;
  };
  // Working copy: the post-processor may fill in token strings the config leaves out.
  const tc: JsonObject = { ...(input.tokenizerConfig ?? {}) };
  const tj = input.tokenizerJson;
  if (tj) {
    if (tj.normalizer) readNormalizerFlags(tj.normalizer, result);
    if (tj.post_processor) readPostProcessor(tj.post_processor, tc, result, input.tokenizerConfig !== null, input.log);
  }
  if (input.tokenizerConfig) {
    result.chatTemplate = await readChatTemplate(input.dir, input.tokenizerConfig, input.log);
    for (const type of SPECIAL_TOKEN_TYPES) {
      const flag = tc[`add_${type}_token`];
      if ((type === 'bos' || type === 'eos' || type === 'sep') && typeof flag === 'boolean') result.add[type] = flag;
      const text = tokenText(tc[`${type}_token`]);
      if (text === undefined) continue;
      set(type, tj?.added_tokens.find((t) => t.content === text)?.id);
    }
  }
  const textConfig = isObject(input.config.text_config) ? input.config.text_config : {};
  for (const type of CONFIG_TYPES) set(type, input.config[`${type}_token_id`] ?? textConfig[`${type}_token_id`]);
  // Last resort (a SentencePiece-only folder): the token strings themselves.
  for (const type of SPECIAL_TOKEN_TYPES) {
    const text = tokenText(tc[`${type}_token`]);
    if (text !== undefined) set(type, input.tokenId(text));
  }
  return result;
}

function tokenText(entry: unknown): string | undefined {
  if (typeof entry === 'string') return entry;
  if (isObject(entry) && typeof entry.content === 'string') return entry.content;
  return undefined;
}

function readNormalizerFlags(n: JsonObject, out: SpecialVocab): void {
  if (n.type === 'Lowercase') out.normalizerLowercase = true;
  else if (n.type === 'StripAccents') out.normalizerStripAccents = true;
  else if (n.type === 'BertNormalizer') {
    if (typeof n.lowercase === 'boolean') out.normalizerLowercase = n.lowercase;
    if (typeof n.strip_accents === 'boolean') out.normalizerStripAccents = n.strip_accents;
  } else if (n.type === 'Sequence' && Array.isArray(n.normalizers)) {
    for (const child of n.normalizers) if (isObject(child)) readNormalizerFlags(child, out);
  }
}

/**
 * A TemplateProcessing post-processor says which special tokens wrap a single sequence: a leading
 * BOS/CLS means add_bos, a trailing EOS means add_eos. Only simple templates are understood.
 */
function readPostProcessor(pp: JsonObject, tc: JsonObject, out: SpecialVocab, haveConfig: boolean, log: (l: string) => void): void {
  const processors = Array.isArray(pp.processors) ? pp.processors : [pp];
  for (const p of processors) {
    if (!isObject(p)) continue;
    if (p.type === 'RobertaProcessing') {
      out.add.bos = true;
      out.add.eos = true;
      out.add.sep = true;
      continue;
    }
    if (p.type !== 'TemplateProcessing' || !Array.isArray(p.single) || p.single.length < 2) continue;
    const first = specialOf(p.single[0]);
    const last = specialOf(p.single[p.single.length - 1]);
    if (first !== undefined) {
      const bos = tokenText(tc.bos_token);
      const cls = tokenText(tc.cls_token);
      if (!haveConfig || (!bos && first !== cls)) tc.bos_token = first;
      const isBos = first === tokenText(tc.bos_token) || first === cls;
      out.add.bos = isBos;
      if (!isBos) log(`tokenizer.json template starts with ${first}, which is not the BOS token; add_bos_token=false`);
    }
    if (last !== undefined) {
      if (!haveConfig || !tokenText(tc.eos_token)) tc.eos_token = last;
      out.add.eos = last === tokenText(tc.eos_token);
    }
  }
}

function specialOf(item: unknown): string | undefined {
  if (!isObject(item) || !isObject(item.SpecialToken)) return undefined;
  const id = item.SpecialToken.id;
  return typeof id === 'string' ? id : undefined;
}

async function readChatTemplate(dir: string, tc: JsonObject, log: (l: string) => void): Promise<string | NamedChatTemplate[] | null> {
  const fromConfig = tc.chat_template;
  if (typeof fromConfig === 'string') return fromConfig;
  if (Array.isArray(fromConfig)) {
    const named = fromConfig.filter(
      (t): t is NamedChatTemplate => isObject(t) && typeof t.name === 'string' && typeof t.template === 'string',
    );
    if (named.length) return named;
  }
  if (fromConfig !== undefined && fromConfig !== null) log('tokenizer_config.json chat_template has an unexpected type; ignored');
  const jinja = path.join(dir, 'chat_template.jinja');
  if (existsSync(jinja)) return fsp.readFile(jinja, 'utf8');
  const json = path.join(dir, 'chat_template.json');
  if (existsSync(json)) {
    const parsed: unknown = JSON.parse(await fsp.readFile(json, 'utf8'));
    if (isObject(parsed) && typeof parsed.chat_template === 'string') return parsed.chat_template;
  }
  return null;
}
