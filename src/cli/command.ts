/** The shape of one CLI subcommand; `main.ts` holds the table of them. */
import type { OptionSpecs } from './args';
import type { CliIo } from './io';

export interface Command {
  name: string;
  summary: string;
  /** Usage line after "pajamas <name> ". */
  usage: string;
  options: OptionSpecs;
  /** Returns the exit code (0 unless the command reports a soft failure itself). */
  run(argv: string[], io: CliIo): Promise<number>;
}
