/**
 * Which MLX weights are quantized, and how: mlx_lm's shape of a quantization policy, a predicate
 * over module paths (`(path, module) -> false | {bits, group_size}`), plus the top-level default
 * that config.json's "quantization" carries. Built from the plan (planQuantization's per-tensor
 * `mlx`), from fixed rules (pajamas without a plan), or one width everywhere (naive).
 */
import { UsageError } from '../errors';
import type { MlxQuant, QuantPlan } from '../plan/types';
import { checkAffineParams } from './affine';

export type { MlxQuant } from '../plan/types';

/** One weight of the MLX model, as the policy sees it. */
export interface MlxWeightInfo {
  /** Module path (the weight's name without ".weight"): config.json's per-layer keys use it. */
  modulePath: string;
  /** The HF tensors it comes from (one per expert when stacked). */
  hfNames: readonly string[];
  /** HF (row-major) shape of the MLX weight, e.g. [experts, out, in] when stacked. */
  shape: readonly number[];
}

export type MlxChoice = false | MlxQuant;

export interface MlxPolicy {
  /** The top-level bits/group_size of config.json's "quantization". */
  readonly defaults: MlxQuant;
  /** false keeps the weight in the float dtype; a width quantizes it (if its rows split into groups). */
  choose(weight: MlxWeightInfo): MlxChoice;
  /** Short description for logs and the manifest. */
  readonly description: string;
}

export const PAJAMAS_MLX_EMBEDDING_BITS = 6;
export const PAJAMAS_MLX_ROUTER_BITS = 8;

/** Routers and gates that pick experts: tiny, and every token's routing depends on them. */
const ROUTER_PATH = /(^|\.)(mlp\.gate|block_sparse_moe\.gate|router|shared_expert_gate)$/;
const EMBEDDING_PATH = /(^|\.)(embed_tokens|lm_head)$/;

function checked(q: MlxQuant, what: string): MlxQuant {
  try {
    checkAffineParams(q);
  } catch (error) {
    throw new UsageError(`${what}: ${(error as Error).message}`);
  }
  return { bits: q.bits, groupSize: q.groupSize };
}

/** naive: one width for every weight (mlx_lm's `convert -q --q-bits B --q-group-size G` without recipe). */
export function naiveMlxPolicy(q: MlxQuant): MlxPolicy {
  const defaults = checked(q, 'naive MLX policy');
  return { defaults, choose: () => ({ ...defaults }), description: `naive ${defaults.bits}-bit, group ${defaults.groupSize}` };
}

/**
 * pajamas rules without a plan: the body at `body.bits`, embeddings and lm_head at 6 bits, MoE
 * routers at 8 (never below the body's width).
 */
export function pajamasMlxPolicy(body: MlxQuant): MlxPolicy {
  const defaults = checked(body, 'pajamas MLX policy');
  return {
    defaults,
    description:
      `pajamas: ${defaults.bits}-bit body, ${Math.max(defaults.bits, PAJAMAS_MLX_EMBEDDING_BITS)}-bit embeddings/lm_head, ` +
      `${Math.max(defaults.bits, PAJAMAS_MLX_ROUTER_BITS)}-bit routers, group ${defaults.groupSize}`,
    choose(w) {
      if (ROUTER_PATH.test(w.modulePath)) return { bits: Math.max(defaults.bits, PAJAMAS_MLX_ROUTER_BITS), groupSize: defaults.groupSize };
      if (EMBEDDING_PATH.test(w.modulePath))
        return { bits: Math.max(defaults.bits, PAJAMAS_MLX_EMBEDDING_BITS), groupSize: defaults.groupSize };
      return { ...defaults };
    },
  };
}

/**
 * The plan's decisions as a policy: each planned tensor's `mlx` (null = unquantized) applies to
 * its HF source tensor(s). A weight the plan does not list stays unquantized (and `unplanned`
 * collects it, so the caller can warn).
 */
export function mlxPolicyFromPlan(plan: Pick<QuantPlan, 'mlxDefault' | 'tensors' | 'strategy'>, unplanned: string[] = []): MlxPolicy {
  const defaults = checked(plan.mlxDefault, 'plan MLX default');
  const byHfName = new Map<string, MlxQuant | null>();
  for (const t of plan.tensors) {
    const names = t.hfName === null ? [] : Array.isArray(t.hfName) ? t.hfName : [t.hfName];
    for (const name of names) byHfName.set(name, t.mlx ? checked(t.mlx, `plan entry for ${t.name}`) : null);
  }
  return {
    defaults,
    description: `plan (${plan.strategy}): default ${defaults.bits}-bit, group ${defaults.groupSize}`,
    choose(w) {
      const planned = w.hfNames.map((n) => byHfName.get(n)).filter((q) => q !== undefined);
      if (planned.length === 0) {
        unplanned.push(w.modulePath);
        return false;
      }
      const first = planned[0];
      return first ? { ...first } : false;
    },
  };
}

/** Parses `--mlx-bits` / `--mlx-group-size` style values. */
export function parseMlxQuant(bits: string | number | undefined, groupSize: string | number | undefined, fallback: MlxQuant): MlxQuant {
  const q = {
    bits: bits === undefined ? fallback.bits : Number(bits),
    groupSize: groupSize === undefined ? fallback.groupSize : Number(groupSize),
  };
  return checked(q, 'MLX options');
}
