/**
 * Typed reads of config.json fields. The same quantity has many names across model families
 * (`num_hidden_layers` / `n_layer` / `n_layers`, `num_local_experts` / `n_routed_experts` ...):
 * each reader takes the candidate keys in order of preference and returns the first usable one.
 * A key may be a dotted path into a nested object (`attn_config.kv_n_heads`, DBRX).
 */
import type { HfConfig, JsonObject, JsonValue } from '../hf/config';
import { isJsonObject } from '../hf/config';

export function field(config: HfConfig, key: string): JsonValue | undefined {
  if (!key.includes('.')) return config[key];
  let cur: JsonValue | undefined = config;
  for (const part of key.split('.')) {
    if (!isJsonObject(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}

/** First finite number among `keys` (null, strings and non-finite values are skipped). */
export function numberField(config: HfConfig, keys: readonly string[]): number | undefined {
  for (const key of keys) {
    const v = field(config, key);
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  return undefined;
}

/** First positive integer among `keys`. */
export function positiveInt(config: HfConfig, keys: readonly string[]): number | undefined {
  for (const key of keys) {
    const v = field(config, key);
    if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v;
  }
  return undefined;
}

/** First non-negative integer among `keys` (0 allowed: "no shared experts"). */
export function countField(config: HfConfig, keys: readonly string[]): number | undefined {
  for (const key of keys) {
    const v = field(config, key);
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
  }
  return undefined;
}

export function boolField(config: HfConfig, keys: readonly string[]): boolean | undefined {
  for (const key of keys) {
    const v = field(config, key);
    if (typeof v === 'boolean') return v;
  }
  return undefined;
}

export function stringField(config: HfConfig, keys: readonly string[]): string | undefined {
  for (const key of keys) {
    const v = field(config, key);
    if (typeof v === 'string' && v.length > 0) return v;
  }
  return undefined;
}

export function objectField(config: HfConfig, keys: readonly string[]): JsonObject | undefined {
  for (const key of keys) {
    const v = field(config, key);
    if (isJsonObject(v)) return v;
  }
  return undefined;
}

export function intArrayField(config: HfConfig, keys: readonly string[]): number[] | undefined {
  for (const key of keys) {
    const v = field(config, key);
    if (Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isInteger(x))) return v as number[];
  }
  return undefined;
}

export function stringArrayField(config: HfConfig, keys: readonly string[]): string[] | undefined {
  for (const key of keys) {
    const v = field(config, key);
    if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string')) return v as string[];
  }
  return undefined;
}

/** True when the key is present with a non-null value. */
export function has(config: HfConfig, key: string): boolean {
  const v = field(config, key);
  return v !== undefined && v !== null;
}
