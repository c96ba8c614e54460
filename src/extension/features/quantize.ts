/** "Quantize with Pajamas": opens the Strategy view of a model (explorer, the Pajamas view, or a picker). */
import type { Ctx } from '../ctx';
import { activeFile, isModelFile, pathsFromArgs, pickModel } from '../pick';
import { openStrategyPanel, type StrategyPanel } from '../strategy/panel';

export async function quantize(ctx: Ctx, ...args: unknown[]): Promise<StrategyPanel | undefined> {
  const [model] = pathsFromArgs(args, 'a model folder, a config.json or a .gguf file');
  const chosen = model ?? activeFile(isModelFile) ?? (await pickModel('Quantize with Pajamas'));
  if (!chosen) return undefined;
  return openStrategyPanel(ctx, chosen);
}
