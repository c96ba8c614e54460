/**
 * `pajamas detect <model> [--json]`: what Llama-Pajamas knows about a model before planning:
 * family, attention, layer mix, MoE/MLA/sliding-window details and parameter counts. The model
 * is a Hugging Face folder, a config.json, a .gguf file or a Hub repo id (owner/name).
 * `--json` prints the ArchitectureInfo object (field names are a contract: see core/arch/types.ts).
 */
import { detectArchitecture } from '../../core/arch/detect';
import { formatArchitecture } from '../../core/arch/format';
import { onePositional, parseArgs } from '../args';
import type { Command } from '../command';
import type { CliIo } from '../io';

const options = {
  json: { type: 'boolean', description: 'print one JSON document: the ArchitectureInfo object' },
} as const;

export const detectCommand: Command = {
  name: 'detect',
  summary: "Detect a model's architecture (folder, config.json, .gguf or Hub repo id)",
  usage: '<model> [--json]',
  options,
  async run(argv: string[], io: CliIo): Promise<number> {
    const { options: o, positionals } = parseArgs(argv, options);
    const info = await detectArchitecture(onePositional(positionals, '<model>'), { signal: io.job().signal });
    if (o.json) io.json(info);
    else io.out(formatArchitecture(info));
    return 0;
  },
};
