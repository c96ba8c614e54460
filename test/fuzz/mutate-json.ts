/**
 * Mutations of config.json and manifest.json: hostile values at the fields that size work (layer
 * and head counts, experts, vocabulary, epsilons, frequencies), at artifact paths (climbing out,
 * absolute, through symlinks), huge and empty lists, duplicates, and text-level damage.
 */
import { symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type FuzzRng, HOSTILE_NUMBERS, HOSTILE_VALUES, damageBytes } from './random';

export interface JsonMutant {
  text: string;
  what: string;
  /** Extra files the mutant needs in its folder (a symlink, a file outside). */
  setup?: (dir: string) => void;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonPath = (string | number)[];

/** JSON with NaN and +-Infinity written as bare tokens, as Python's json module writes them. */
export function stringifyLenient(value: unknown): string {
  const tokens = new Map<string, string>();
  const text = JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v !== 'number' || Number.isFinite(v)) return v;
    const token = `@@${String(v)}@@`;
    tokens.set(`"${token}"`, String(v));
    return token;
  });
  let out = text;
  for (const [quoted, bare] of tokens) out = out.split(quoted).join(bare);
  return out;
}

function paths(value: Json, prefix: JsonPath = [], out: JsonPath[] = [], depth = 0): JsonPath[] {
  if (depth > 8) return out;
  if (Array.isArray(value)) value.slice(0, 20).forEach((v, i) => (out.push([...prefix, i]), paths(v, [...prefix, i], out, depth + 1)));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      out.push([...prefix, k]);
      paths(v, [...prefix, k], out, depth + 1);
    }
  }
  return out;
}

function setAt(root: Json, at: JsonPath, v: unknown): void {
  let cur = root as Record<string | number, unknown>;
  for (const k of at.slice(0, -1)) cur = cur[k] as Record<string | number, unknown>;
  cur[at.at(-1)!] = v;
}

function deleteAt(root: Json, at: JsonPath): void {
  let cur = root as Record<string | number, unknown>;
  for (const k of at.slice(0, -1)) cur = cur[k] as Record<string | number, unknown>;
  const last = at.at(-1)!;
  if (Array.isArray(cur)) cur.splice(Number(last), 1);
  else delete cur[last];
}

const CONFIG_KEYS = [
  'num_hidden_layers',
  'hidden_size',
  'num_attention_heads',
  'num_key_value_heads',
  'head_dim',
  'intermediate_size',
  'vocab_size',
  'max_position_embeddings',
  'rms_norm_eps',
  'rope_theta',
  'num_experts',
  'num_experts_per_tok',
  'moe_intermediate_size',
  'sliding_window',
  'tie_word_embeddings',
  'model_type',
  'architectures',
  'rope_scaling',
  'torch_dtype',
  'layer_types',
];

export function mutateConfig(text: string, rng: FuzzRng): JsonMutant {
  const config = JSON.parse(text) as { [k: string]: Json };
  const op = rng.int(10);
  if (op < 5) {
    const key = rng.pick(CONFIG_KEYS);
    const value = rng.pick(HOSTILE_VALUES);
    config[key] = value as Json;
    return { text: stringifyLenient(config), what: `config "${key}" = ${describe(value)}` };
  }
  if (op === 5) {
    config.quantization_config = { quant_method: 'fp8', fmt: 'e4m3', weight_block_size: [128, 128] };
    return { text: stringifyLenient(config), what: 'an FP8 quantization_config' };
  }
  if (op === 6) {
    const at = rng.pick(paths(config));
    deleteAt(config, at);
    return { text: stringifyLenient(config), what: `config ${at.join('.')} deleted` };
  }
  if (op === 7) {
    const at = rng.pick(paths(config));
    const value = rng.pick(HOSTILE_VALUES);
    setAt(config, at, value);
    return { text: stringifyLenient(config), what: `config ${at.join('.')} = ${describe(value)}` };
  }
  const damaged = damageBytes(Buffer.from(text), rng);
  return { text: damaged.bytes.toString('latin1'), what: `config.json text: ${damaged.what}` };
}

const PATH_ATTACKS = ['../../../etc/passwd', '/etc/passwd', '..', '.', 'a/../../x.gguf', 'sub//x.gguf', 'C:\\x.gguf', 'x\u0000.gguf', ''];

export function mutateManifest(text: string, rng: FuzzRng): JsonMutant {
  const m = JSON.parse(text) as { [k: string]: Json } & { artifacts: { [k: string]: Json }[] };
  const artifact = () => rng.int(m.artifacts.length);
  switch (rng.int(12)) {
    case 0: {
      const i = artifact();
      const attack = rng.pick(PATH_ATTACKS);
      m.artifacts[i]!.path = attack;
      return { text: JSON.stringify(m), what: `/artifacts/${i}/path = ${JSON.stringify(attack)}` };
    }
    case 1: {
      const i = artifact();
      m.artifacts[i]!.path = 'escape.gguf';
      const setup = (dir: string) => {
        const outside = path.join(path.dirname(dir), `outside-${path.basename(dir)}`);
        writeFileSync(outside, 'a file outside the manifest folder');
        symlinkSync(outside, path.join(dir, 'escape.gguf'));
      };
      return { text: JSON.stringify(m), what: `/artifacts/${i}/path is a symlink to a file outside`, setup };
    }
    case 2: {
      const n = rng.pick([0, 2, 3000]);
      m.artifacts = n === 0 ? [] : Array.from({ length: n }, () => structuredClone(m.artifacts[0]!));
      return { text: JSON.stringify(m), what: `${n} artifacts` };
    }
    case 3: {
      const i = artifact();
      const field = rng.pick(['sizeBytes', 'bpw']);
      m.artifacts[i]![field] = 2 ** 53;
      return {
        text: JSON.stringify(m).replace('"bpw":16', rng.chance(0.5) ? '"bpw":1e999' : '"bpw":16'),
        what: `/artifacts/${i}/${field} huge`,
      };
    }
    case 4: {
      const mlx = m.artifacts.find((a) => a.format === 'mlx') as { files: { path: string }[] } | undefined;
      if (mlx) mlx.files[0]!.path = rng.pick([...PATH_ATTACKS, mlx.files[1]?.path ?? 'x']);
      return { text: JSON.stringify(m), what: 'an MLX file path attacked or duplicated' };
    }
    case 5: {
      m.baseline = { path: rng.pick(PATH_ATTACKS), sizeBytes: 1, sha256: 'a'.repeat(64), inputsKey: null, kept: true, quality: null };
      return { text: JSON.stringify(m), what: 'baseline path attacked' };
    }
    case 6:
    case 7: {
      const at = rng.pick(paths(m as Json));
      const value = rng.pick([...HOSTILE_VALUES, ...HOSTILE_NUMBERS]);
      setAt(m as Json, at, value);
      return { text: stringifyLenient(m), what: `${at.join('/')} = ${describe(value)}` };
    }
    case 8: {
      const at = rng.pick(paths(m as Json));
      deleteAt(m as Json, at);
      return { text: JSON.stringify(m), what: `${at.join('/')} deleted` };
    }
    default: {
      const damaged = damageBytes(Buffer.from(text), rng);
      return { text: damaged.bytes.toString('latin1'), what: `manifest.json text: ${damaged.what}` };
    }
  }
}

export function describe(v: unknown): string {
  if (typeof v === 'string') return v.length > 20 ? `a ${v.length}-character string` : JSON.stringify(v);
  if (typeof v === 'number') return String(v);
  return JSON.stringify(v) ?? String(v);
}
