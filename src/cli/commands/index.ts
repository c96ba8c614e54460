/** The table of CLI subcommands, in the order `pajamas --help` lists them. */
import type { Command } from '../command';
import { benchCommand } from './bench';
import { chatCommand } from './chat';
import { compareCommand } from './compare';
import { convertCommand } from './convert';
import { detectCommand } from './detect';
import { downloadCommand } from './download';
import { evalCommand } from './eval';
import { planCommand } from './plan';
import { quantizeCommand } from './quantize';
import { runCommand } from './run';
import { toolsCommand } from './tools';
import { verifyCommand } from './verify';

export const COMMANDS: Command[] = [
  downloadCommand,
  detectCommand,
  planCommand,
  convertCommand,
  quantizeCommand,
  compareCommand,
  evalCommand,
  runCommand,
  chatCommand,
  benchCommand,
  toolsCommand,
  verifyCommand,
];
