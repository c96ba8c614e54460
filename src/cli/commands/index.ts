/** The table of CLI subcommands, in the order `pajamas --help` lists them. */
import type { Command } from '../command';

export const COMMANDS: Command[] = [];
