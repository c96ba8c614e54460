/**
 * The whole GGUF metadata of a converted model: general.*, the architecture's hyperparameters,
 * the tokenizer (tokens, scores, types, merges, special ids, chat template) and the sampling
 * defaults of generation_config.json.
 */
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import type { GgufKv } from '../formats/gguf';
import type { GgufVocab } from '../hf/tokenizer';
import { isObject, type JsonObject } from '../hf/tokenizer-json';
import { writeArchMetadata } from './arch-metadata';
import { KvBuilder } from './kv';
import { OUT_TYPES, type OutType } from './recipe';
import type { TensorPlan } from './tensor-map';

/** GGML_QNT_VERSION of the pinned ggml. */
const QUANTIZATION_VERSION = 2;

export interface MetadataInput {
  plan: TensorPlan;
  vocab: GgufVocab;
  outType: OutType;
  name: string;
  generationConfig: JsonObject | null;
}

export function buildMetadata(input: MetadataInput): Map<string, GgufKv> {
  const { plan, vocab } = input;
  const kv = new KvBuilder(plan.spec.ggufArch);
  kv.str('general.architecture', plan.spec.ggufArch);
  kv.str('general.type', 'model');
  kv.str('general.name', input.name);
  if (input.generationConfig) writeSampling(kv, input.generationConfig);
  writeArchMetadata(kv, plan.spec, plan.hparams, plan.nVocab);
  kv.u32('general.file_type', OUT_TYPES[input.outType].ftype);
  kv.u32('general.quantization_version', QUANTIZATION_VERSION);
  writeVocab(kv, vocab);
  return kv.entries;
}

function writeSampling(kv: KvBuilder, g: JsonObject): void {
  const num = (key: string): number | undefined => (typeof g[key] === 'number' && Number.isFinite(g[key]) ? (g[key] as number) : undefined);
  const topK = num('top_k');
  if (topK !== undefined) kv.i32('general.sampling.top_k', topK);
  const floats: [string, string][] = [
    ['top_p', 'top_p'],
    ['min_p', 'min_p'],
    ['temperature', 'temp'],
  ];
  for (const [from, to] of floats) {
    const v = num(from);
    if (v !== undefined) kv.f32(`general.sampling.${to}`, v);
  }
  const repeat = num('repetition_penalty');
  if (repeat !== undefined) kv.f32('general.sampling.penalty_repeat', repeat);
}

function writeVocab(kv: KvBuilder, v: GgufVocab): void {
  kv.str('tokenizer.ggml.model', v.model);
  kv.str('tokenizer.ggml.pre', v.pre);
  kv.strings('tokenizer.ggml.tokens', v.tokens);
  if (v.scores) kv.floats('tokenizer.ggml.scores', v.scores);
  kv.ints('tokenizer.ggml.token_type', v.tokenTypes);
  if (v.merges) kv.strings('tokenizer.ggml.merges', v.merges);
  const idKeys: Record<string, string> = {
    bos: 'bos_token_id',
    eos: 'eos_token_id',
    unk: 'unknown_token_id',
    sep: 'seperator_token_id', // sic: llama.cpp's key
    pad: 'padding_token_id',
    cls: 'cls_token_id',
    mask: 'mask_token_id',
    eot: 'eot_token_id',
    eom: 'eom_token_id',
  };
  for (const [type, id] of Object.entries(v.special.ids)) {
    const key = idKeys[type];
    if (key && id !== undefined) kv.u32(`tokenizer.ggml.${key}`, id);
  }
  for (const [type, flag] of Object.entries(v.special.add)) {
    if (flag !== undefined) kv.bool(`tokenizer.ggml.add_${type}_token`, flag);
  }
  if (v.addSpacePrefix !== null) kv.bool('tokenizer.ggml.add_space_prefix', v.addSpacePrefix);
  if (v.special.normalizerLowercase !== null) kv.bool('tokenizer.ggml.normalizer.lowercase', v.special.normalizerLowercase);
  if (v.special.normalizerStripAccents !== null) kv.bool('tokenizer.ggml.normalizer.strip_accents', v.special.normalizerStripAccents);
  const ct = v.special.chatTemplate;
  if (typeof ct === 'string') kv.str('tokenizer.chat_template', ct);
  else if (ct) {
    const names: string[] = [];
    for (const t of ct) {
      if (t.name === 'default') kv.str('tokenizer.chat_template', t.template);
      else {
        kv.str(`tokenizer.chat_template.${t.name}`, t.template);
        names.push(t.name);
      }
    }
    if (names.length) kv.strings('tokenizer.chat_templates', names);
  }
}

export async function readGenerationConfig(dir: string, log: (l: string) => void): Promise<JsonObject | null> {
  const file = path.join(dir, 'generation_config.json');
  if (!existsSync(file)) return null;
  try {
    const parsed: unknown = JSON.parse(await fsp.readFile(file, 'utf8'));
    return isObject(parsed) ? parsed : null;
  } catch {
    // As llama.cpp: a broken generation_config.json only loses the sampling defaults.
    log('generation_config.json is not valid JSON; sampling defaults not written');
    return null;
  }
}
