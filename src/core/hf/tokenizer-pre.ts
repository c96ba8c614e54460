/**
 * Which llama.cpp pre-tokenizer (`tokenizer.ggml.pre`) a byte-level BPE tokenizer.json needs.
 *
 * llama.cpp's own converter encodes a fixed test string with the Hugging Face tokenizer and looks the
 * hash of the ids up in a table. Without Python we recognise the configuration instead: the
 * pre-tokenizer steps of tokenizer.json (split regexes, digit splitting, byte-level) are reduced to a
 * signature and matched against the configurations of the families llama.cpp implements, taken from
 * the "original regex from tokenizer.json" that src/llama-vocab.cpp records for each pre-type. The
 * integration tests check the answer against llama.cpp's hash table on real tokenizer files.
 * Several llama.cpp names share one behaviour (llama-bpe, dbrx, smaug-bpe...); any of them tokenizes
 * identically, so the most common name is used.
 */
import { type Remedy, UnsupportedError } from '../errors';
import { isObject, type HfTokenizerJson, type JsonObject } from './tokenizer-json';

// Regexes exactly as they appear in tokenizer.json files of each family.
const CONTRACTIONS = "(?i:'s|'t|'re|'ve|'m|'ll|'d)";
const LLAMA3 = `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const QWEN2 = `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const QWEN35 =
  `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}` + `| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const O200K =
  `[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+${CONTRACTIONS}?` +
  `|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*${CONTRACTIONS}?` +
  `|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const TEKKEN =
  `[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+` +
  `|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*` +
  `|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const SEED_CODER = `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const MINICPM5 = `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}+| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const DEEPSEEK3_BODY =
  `[!"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_\`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+` +
  `| ?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;

/** Step signatures: `split:<regex>`, `bytelevel` (no regex), `bytelevel+gpt2` (its built-in regex), `digits:single`. */
interface KnownPreTokenizer {
  name: string;
  family: string;
  steps: string[];
}

const KNOWN: KnownPreTokenizer[] = [
  { name: 'llama-bpe', family: 'Llama 3 / 3.1 / 3.2', steps: [`split:${LLAMA3}`, 'bytelevel'] },
  { name: 'qwen2', family: 'Qwen 1.5 / 2 / 2.5 / 3', steps: [`split:${QWEN2}`, 'bytelevel'] },
  { name: 'qwen35', family: 'Qwen 3.5', steps: [`split:${QWEN35}`, 'bytelevel'] },
  { name: 'gpt-4o', family: 'GPT-4o / o200k (gpt-oss, Llama 4)', steps: [`split:${O200K}`, 'bytelevel'] },
  { name: 'tekken', family: 'Mistral Tekken', steps: [`split:${TEKKEN}`, 'bytelevel'] },
  { name: 'seed-coder', family: 'Seed-Coder', steps: [`split:${SEED_CODER}`, 'bytelevel'] },
  { name: 'minicpm5', family: 'MiniCPM 5', steps: ['split:\\p{N}{1,3}', `split:${MINICPM5}`, 'bytelevel'] },
  {
    name: 'deepseek-v3',
    family: 'DeepSeek V3 / R1',
    steps: ['split:\\p{N}{1,3}', 'split:[一-龥぀-ゟ゠-ヿ]+', `split:${DEEPSEEK3_BODY}`, 'bytelevel'],
  },
  { name: 'gpt-2', family: 'GPT-2 style (byte-level regex only)', steps: ['bytelevel+gpt2'] },
  { name: 'smollm', family: 'SmolLM / StarCoder (single digits + GPT-2 regex)', steps: ['digits:single', 'bytelevel+gpt2'] },
];

/** The pre-tokenizer names this module can recognise, for messages. */
export function knownPreTokenizers(): string[] {
  return KNOWN.map((k) => `${k.name} (${k.family})`);
}

export interface PreTokenizerChoice {
  name: string;
  /** How it was chosen, for the log. */
  reason: string;
}

/**
 * Identifies the llama.cpp pre-tokenizer of a byte-level BPE tokenizer. `override` forces a name
 * (logged); an unrecognised configuration without override is an UnsupportedError.
 */
export function identifyPreTokenizer(tokenizer: HfTokenizerJson, override?: string): PreTokenizerChoice {
  const steps = preTokenizerSteps(tokenizer.pre_tokenizer);
  const key = steps?.join('\n');
  const match = key === undefined ? undefined : KNOWN.find((k) => k.steps.join('\n') === key);
  if (override) {
    const note = match && match.name !== override ? ` (the configuration looks like "${match.name}")` : '';
    return { name: override, reason: `forced by the caller${note}` };
  }
  if (match) return { name: match.name, reason: `pre-tokenizer configuration of ${match.family}` };
  throw new UnsupportedError(
    `tokenizer.json has a BPE pre-tokenizer that Llama-Pajamas does not recognise (${describeSteps(steps, tokenizer.pre_tokenizer)}), ` +
      `so the GGUF's tokenizer.ggml.pre cannot be chosen safely. Recognised: ${knownPreTokenizers().join('; ')}. ` +
      'If you know the family, name its llama.cpp pre-tokenizer explicitly.',
    { preTokenizer: tokenizer.pre_tokenizer, remedies: [{ option: 'preTokenizer' }] satisfies Remedy[] },
  );
}

/** The pre-tokenizer reduced to step signatures, or undefined when a step is not understood. */
export function preTokenizerSteps(pre: JsonObject | null): string[] | undefined {
  if (!pre) return [];
  const list = pre.type === 'Sequence' && Array.isArray(pre.pretokenizers) ? pre.pretokenizers : [pre];
  const steps: string[] = [];
  for (const step of list) {
    const s = isObject(step) ? stepSignature(step) : undefined;
    if (s === undefined) return undefined;
    steps.push(s);
  }
  return steps;
}

function stepSignature(step: JsonObject): string | undefined {
  switch (step.type) {
    case 'Split': {
      const pattern = isObject(step.pattern) ? step.pattern.Regex : undefined;
      if (typeof pattern !== 'string' || step.behavior !== 'Isolated' || step.invert === true) return undefined;
      return `split:${pattern}`;
    }
    case 'ByteLevel':
      // add_prefix_space would prepend a space to the text, which no llama.cpp pre-type does.
      if (step.add_prefix_space === true) return undefined;
      return step.use_regex === false ? 'bytelevel' : 'bytelevel+gpt2';
    case 'Digits':
      return step.individual_digits === true ? 'digits:single' : undefined;
    default:
      return undefined;
  }
}

function describeSteps(steps: string[] | undefined, pre: JsonObject | null): string {
  if (steps) return steps.length ? steps.map((s) => (s.length > 60 ? `${s.slice(0, 60)}...` : s)).join(' -> ') : 'none';
  return `unsupported steps: ${JSON.stringify(pre).slice(0, 200)}`;
}
