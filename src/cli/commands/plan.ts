/**
 * `pajamas plan <model>`: the per-tensor plan (GGUF type and MLX bits, each with a reason), grouped
 * by layer and tensor kind, with totals side by side with llama.cpp's stock recipe.
 */
import { UsageError } from '../../core/errors';
import { formatPlan } from '../../core/plan/format';
import { planModel } from '../../core/plan/load';
import { recommend } from '../../core/plan/recommend';
import { PLAN_STRATEGIES, PLAN_TARGETS, type PlanStrategy, type PlanTarget } from '../../core/plan/types';
import { onePositional, parseArgs } from '../args';
import type { Command } from '../command';
import type { CliIo } from '../io';

const options = {
  target: { option: 'targets', type: 'string', value: '<type>', default: 'Q4_K_M', description: `GGUF target: ${PLAN_TARGETS.join(', ')}` },
  strategy: {
    option: 'strategies',
    type: 'string',
    value: '<name>',
    default: 'pajamas',
    description: "pajamas (architecture-aware) or naive (llama.cpp's stock recipe)",
  },
  'mlx-bits': { option: 'mlxBits', type: 'number', value: '<n>', description: 'MLX body bits (2, 3, 4, 5, 6, 8; default 4)' },
  'mlx-group-size': { option: 'mlxGroupSize', type: 'number', value: '<n>', description: 'MLX group size (32, 64, 128; default 64)' },
  json: { type: 'boolean', description: 'print one JSON document: {"tensors": [...], "totals": {...}, ...}' },
} as const;

export function parseTarget(value: string): PlanTarget {
  const target = PLAN_TARGETS.find((t) => t.toLowerCase() === value.toLowerCase());
  if (!target) throw new UsageError(`unknown target "${value}"; use one of ${PLAN_TARGETS.join(', ')}`);
  return target;
}

export function parseStrategy(value: string): PlanStrategy {
  const strategy = PLAN_STRATEGIES.find((s) => s === value.toLowerCase());
  if (!strategy) throw new UsageError(`unknown strategy "${value}"; use one of ${PLAN_STRATEGIES.join(', ')}`);
  return strategy;
}

export const planCommand: Command = {
  name: 'plan',
  summary: 'Plan the quantization tensor by tensor (GGUF type and MLX bits, with reasons)',
  usage: '<model> [--target Q4_K_M] [--strategy pajamas|naive] [--mlx-bits N] [--mlx-group-size N] [--json]',
  options,
  async run(argv: string[], io: CliIo): Promise<number> {
    const { options: o, positionals } = parseArgs(argv, options);
    const planned = await planModel(
      onePositional(positionals, '<model>'),
      { target: parseTarget(o.target!), strategy: parseStrategy(o.strategy!), mlxBits: o['mlx-bits'], mlxGroupSize: o['mlx-group-size'] },
      io.job(),
    );
    const recommendation = recommend(planned.arch);
    if (o.json) {
      const { plan } = planned;
      io.json({
        model: planned.arch.source,
        strategy: plan.strategy,
        target: plan.target,
        tensorSource: planned.origin,
        mlxDefault: plan.mlxDefault,
        tensors: plan.tensors,
        totals: plan.totals,
        notes: plan.notes,
        recommendation,
      });
    } else {
      io.out(formatPlan(planned.plan));
      io.out(
        `\nRecommended: ${recommendation.ggufMethod} (${recommendation.why}); tensors listed from ` +
          `${planned.origin === 'weights' ? 'the safetensors headers' : planned.origin === 'gguf' ? 'the GGUF file' : 'the config'}`,
      );
    }
    return 0;
  },
};
