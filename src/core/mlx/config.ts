/**
 * config.json of an MLX model: the source config plus "quantization" (and the same object as
 * "quantization_config"): top-level group_size, bits and mode, and one entry per module that
 * differs from them ({group_size, bits}, {group_size, bits, mode: "mxfp4"} for gpt-oss's experts,
 * or false for a weight left unquantized). Written like
 * mlx_lm writes it: keys sorted, indent 4, Python's NaN/Infinity literals kept.
 */
import { FormatError } from '../errors';
import type { JsonObject, JsonValue } from '../hf/config';
import type { MlxQuant } from '../plan/types';

export const MLX_QUANT_MODE = 'affine';

/** Keys mlx_lm drops from the config it writes. */
const DROPPED_CONFIG_KEYS = ['_name_or_path'];

export interface QuantizationEntry {
  group_size: number;
  bits: number;
  mode?: string;
}

/** What a module's entry in "quantization" says: a width, false, or nothing (use the defaults if `.scales` exists). */
export type ModuleQuantization = MlxQuant | false | undefined;

/** The "quantization" object for these decisions (module path -> width or false). */
export function quantizationBlock(defaults: MlxQuant, modules: ReadonlyMap<string, MlxQuant | false>): JsonObject {
  const block: JsonObject = { group_size: defaults.groupSize, bits: defaults.bits, mode: MLX_QUANT_MODE };
  for (const [path, q] of modules) {
    if (q === false) block[path] = false;
    // mxfp4 modules name their mode; affine ones leave it out, for older mlx.
    else if (q.mode === 'mxfp4') block[path] = { group_size: q.groupSize, bits: q.bits, mode: q.mode };
    else if (q.bits !== defaults.bits || q.groupSize !== defaults.groupSize) block[path] = { group_size: q.groupSize, bits: q.bits };
  }
  return block;
}

/** The source config with the quantization added, ready to serialise. */
export function mlxConfig(source: JsonObject, quantization: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(source)) if (!DROPPED_CONFIG_KEYS.includes(k)) out[k] = v;
  out.quantization = quantization;
  out.quantization_config = quantization;
  return out;
}

/** Reads "quantization" (or, failing that, "quantization_config") of an MLX config. */
export function readQuantization(config: JsonObject, path: string): { defaults: MlxQuant; modules: Map<string, MlxQuant | false> } | null {
  const q = config.quantization ?? config.quantization_config;
  if (q === undefined || q === null) return null;
  if (typeof q !== 'object' || Array.isArray(q)) throw new FormatError('"quantization" is not an object', { path });
  const defaults = entry(q, path, 'quantization');
  const modules = new Map<string, MlxQuant | false>();
  for (const [k, v] of Object.entries(q)) {
    if (k === 'group_size' || k === 'bits' || k === 'mode') continue;
    if (v === false) modules.set(k, false);
    else if (v !== null && typeof v === 'object' && !Array.isArray(v)) modules.set(k, entry(v, path, `quantization.${k}`));
    else if (v !== true) throw new FormatError(`"quantization.${k}" is neither an object nor false`, { path });
  }
  const mode = q.mode ?? MLX_QUANT_MODE;
  if (mode !== MLX_QUANT_MODE)
    throw new FormatError(`quantization mode "${String(mode)}" is not supported here (only "${MLX_QUANT_MODE}")`, { path });
  return { defaults, modules };
}

function entry(o: JsonObject, path: string, where: string): MlxQuant {
  const groupSize = o.group_size;
  const bits = o.bits;
  if (typeof groupSize !== 'number' || typeof bits !== 'number')
    throw new FormatError(`"${where}" needs numeric group_size and bits`, { path });
  const mode = o.mode ?? MLX_QUANT_MODE;
  if (where === 'quantization' || mode === MLX_QUANT_MODE) return { bits, groupSize };
  if (mode === 'mxfp4' && bits === 4 && groupSize === 32) return { bits, groupSize, mode };
  throw new FormatError(`"${where}": quantization mode "${String(mode)}" with ${bits} bits, group ${groupSize} is not supported here`, {
    path,
  });
}

/**
 * JSON as Python's json.dump(obj, indent=4, sort_keys=True) writes it (key order, layout, and the
 * NaN/Infinity literals; number spelling is JavaScript's, which parses to the same values).
 */
export function pythonJson(value: JsonValue, indent = 4, level = 0): string {
  const pad = ' '.repeat(indent * (level + 1));
  const close = ' '.repeat(indent * level);
  if (value === null) return 'null';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'NaN';
    if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
    return JSON.stringify(value);
  }
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => pad + pythonJson(v, indent, level + 1)).join(',\n')}\n${close}]`;
  }
  const keys = Object.keys(value).sort();
  if (keys.length === 0) return '{}';
  return `{\n${keys.map((k) => `${pad}${JSON.stringify(k)}: ${pythonJson(value[k]!, indent, level + 1)}`).join(',\n')}\n${close}}`;
}
