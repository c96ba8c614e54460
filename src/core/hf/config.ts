/**
 * Hugging Face `config.json`: a lenient reader and the text-model view of multimodal wrappers.
 *
 * Transformers writes configs with Python's `json`, which emits bare `NaN`, `Infinity` and
 * `-Infinity` (e.g. Nemotron-H's `time_step_limit`). `JSON.parse` rejects them, so this file has
 * its own small parser: standard JSON plus exactly those three literals outside strings, with
 * errors that give the line and column.
 */
import { readFile } from 'node:fs/promises';
import { FailureError, FormatError } from '../errors';

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}
/** A parsed config.json (or one of its nested sub-configs). */
export type HfConfig = JsonObject;

/** Larger than any real config.json; a bigger file is almost certainly not one. */
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;
/** Nesting deeper than this is hostile input, not a config. */
export const MAX_JSON_DEPTH = 64;

/** Keys under which multimodal wrappers keep their language model's config (Omni models: thinker_config.text_config). */
export const TEXT_CONFIG_KEYS = ['text_config', 'llm_config', 'language_config', 'thinker_config'] as const;
/** Wrappers nest at most this deep (Qwen2.5-Omni: 2). */
const MAX_WRAPPER_DEPTH = 4;

export async function readConfigJson(path: string): Promise<HfConfig> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new FailureError(`${path}: no such file; pass a model folder that contains config.json`, { path });
    throw new FailureError(`${path}: cannot read (${code ?? String(error)})`, { path }, { cause: error });
  }
  if (bytes.length > MAX_CONFIG_BYTES) {
    throw new FormatError(`${bytes.length} bytes is more than a config.json can be (limit ${MAX_CONFIG_BYTES})`, { path });
  }
  return parseConfigJson(bytes.toString('utf8'), path);
}

/** Parses config.json text; the top level must be an object. `path` only labels errors. */
export function parseConfigJson(text: string, path = 'config.json'): HfConfig {
  const value = parseLenientJson(text, path);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    throw new FormatError(`config.json must be a JSON object, found ${kind}; is this the right file?`, { path, offset: 0 });
  }
  return value;
}

/**
 * The language model's config. Multimodal wrappers nest it (`text_config`, `llm_config`); keys
 * that only the wrapper has (e.g. `tie_word_embeddings` on Qwen3-VL, `torch_dtype`,
 * `quantization_config`) are merged in, nested values winning. A plain config is returned as is.
 */
export function textConfig(config: HfConfig, depth = 0): HfConfig {
  if (depth >= MAX_WRAPPER_DEPTH) return config;
  for (const key of TEXT_CONFIG_KEYS) {
    const nested = config[key];
    if (nested && typeof nested === 'object' && !Array.isArray(nested)) {
      const merged: HfConfig = {};
      for (const [k, v] of Object.entries(config)) {
        if (k.endsWith('_config') && v !== null && typeof v === 'object') continue; // vision/audio/text sub-configs
        if (k === 'model_type' || k === 'architectures') continue;
        setOwn(merged, k, v);
      }
      for (const [k, v] of Object.entries(nested)) setOwn(merged, k, v);
      if (Array.isArray(config.architectures) && !Array.isArray(nested.architectures)) merged.architectures = config.architectures;
      if (config.quantization_config !== undefined && merged.quantization_config === undefined) {
        merged.quantization_config = config.quantization_config;
      }
      return textConfig(merged, depth + 1);
    }
  }
  return config;
}

/** Assigns as an own property, so a "__proto__" key from a file never becomes a prototype. */
function setOwn(target: JsonObject, key: string, value: JsonValue): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

export function isJsonObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------
// The parser: RFC 8259 plus NaN / Infinity / -Infinity as Python's json writes them.

function parseLenientJson(text: string, path: string): JsonValue {
  const p = new Parser(text, path);
  p.skipWhitespace();
  if (p.pos >= text.length) p.fail('the file is empty');
  const value = p.parseValue(0);
  p.skipWhitespace();
  if (p.pos < text.length) p.fail('unexpected text after the end of the JSON value');
  return value;
}

const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

class Parser {
  pos = 0;

  constructor(
    private readonly text: string,
    private readonly path: string,
  ) {}

  fail(what: string, at = this.pos, truncated = at >= this.text.length): never {
    const before = this.text.slice(0, at);
    const line = before.split('\n').length;
    const column = at - before.lastIndexOf('\n');
    const hint = truncated ? '; the file looks truncated (re-download it)' : '';
    throw new FormatError(`invalid JSON at line ${line}, column ${column}: ${what}${hint}`, { path: this.path, offset: at });
  }

  skipWhitespace(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.pos++;
      else break;
    }
  }

  parseValue(depth: number): JsonValue {
    if (depth > MAX_JSON_DEPTH) this.fail(`nesting deeper than ${MAX_JSON_DEPTH} levels`);
    this.skipWhitespace();
    const c = this.text[this.pos];
    if (c === undefined) this.fail('unexpected end of input');
    if (c === '{') return this.parseObject(depth);
    if (c === '[') return this.parseArray(depth);
    if (c === '"') return this.parseString();
    if (c === '-' || (c >= '0' && c <= '9')) return this.parseNumber();
    for (const [word, value] of LITERALS) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return value;
      }
    }
    return this.fail(`unexpected character ${JSON.stringify(c)}`);
  }

  private parseObject(depth: number): JsonObject {
    const out: JsonObject = {};
    this.pos++; // {
    this.skipWhitespace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.pos] !== '"')
        this.fail(this.pos >= this.text.length ? 'unexpected end of input' : 'expected a property name in double quotes');
      const key = this.parseString();
      this.skipWhitespace();
      if (this.text[this.pos] !== ':')
        this.fail(this.pos >= this.text.length ? 'unexpected end of input' : 'expected ":" after a property name');
      this.pos++;
      setOwn(out, key, this.parseValue(depth + 1));
      this.skipWhitespace();
      const next = this.text[this.pos];
      this.pos++;
      if (next === '}') return out;
      if (next !== ',') this.fail(next === undefined ? 'unexpected end of input' : 'expected "," or "}" in an object', this.pos - 1);
    }
  }

  private parseArray(depth: number): JsonValue[] {
    const out: JsonValue[] = [];
    this.pos++; // [
    this.skipWhitespace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.parseValue(depth + 1));
      this.skipWhitespace();
      const next = this.text[this.pos];
      this.pos++;
      if (next === ']') return out;
      if (next !== ',') this.fail(next === undefined ? 'unexpected end of input' : 'expected "," or "]" in an array', this.pos - 1);
    }
  }

  private parseString(): string {
    const start = this.pos;
    this.pos++; // opening quote
    let out = '';
    let chunkStart = this.pos;
    const t = this.text;
    for (;;) {
      if (this.pos >= t.length) this.fail('unterminated string', start, true);
      const c = t.charCodeAt(this.pos);
      if (c === 0x22) {
        out += t.slice(chunkStart, this.pos);
        this.pos++;
        return out;
      }
      if (c < 0x20) this.fail('control character inside a string');
      if (c === 0x5c) {
        out += t.slice(chunkStart, this.pos);
        const e = t[this.pos + 1];
        if (e === 'u') {
          const hex = t.slice(this.pos + 2, this.pos + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('invalid \\u escape');
          out += String.fromCharCode(parseInt(hex, 16));
          this.pos += 6;
        } else if (e !== undefined && ESCAPES[e] !== undefined) {
          out += ESCAPES[e];
          this.pos += 2;
        } else {
          this.fail('invalid escape in a string');
        }
        chunkStart = this.pos;
        continue;
      }
      this.pos++;
    }
  }

  private parseNumber(): number {
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(this.text.slice(this.pos, this.pos + 400));
    if (!m) {
      if (this.text.startsWith('-Infinity', this.pos)) {
        this.pos += 9;
        return -Infinity;
      }
      this.fail('invalid number');
    }
    this.pos += m[0].length;
    return Number(m[0]);
  }
}

/** The only non-standard tokens accepted: what Python's json.dumps writes for non-finite floats. */
const LITERALS: ReadonlyArray<readonly [string, JsonValue]> = [
  ['true', true],
  ['false', false],
  ['null', null],
  ['NaN', NaN],
  ['Infinity', Infinity],
];
