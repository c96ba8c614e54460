/**
 * `pajamas`: the command-line face of the pipeline. Each subcommand lives in `commands/`; this file
 * holds the table, help, the process's signal and exit handling (core installs none) and the
 * mapping of errors to exit codes.
 */
import { asPajamasError } from '../core/errors';
import { killRunningChildren } from '../core/llamacpp/process';
import { formatOptions } from './args';
import type { Command } from './command';
import { COMMANDS } from './commands';
import { EXIT, exitCodeFor } from './exit-codes';
import { describeError } from './hints';
import { createCliIo } from './io';

const VERSION = '0.1.0';

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    'Llama-Pajamas: architecture-aware quantization for local LLMs',
    '',
    'usage: pajamas <command> [options]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'Run "pajamas <command> --help" for its options.',
    `exit codes: ${EXIT.ok} ok, ${EXIT.failure} failure, ${EXIT.usage} usage, ${EXIT.badInput} bad input, ` +
      `${EXIT.unsupported} unsupported, ${EXIT.qualityGate} quality gate failed, ${EXIT.cancelled} cancelled`,
  ].join('\n');
}

function commandHelp(c: Command): string {
  return [`usage: pajamas ${c.name} ${c.usage}`, '', c.summary, '', 'options:', formatOptions(c.options)].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name ? EXIT.ok : EXIT.usage;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${VERSION}\n`);
    return EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`pajamas: unknown command "${name}"\n\n${usage()}\n`);
    return EXIT.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${commandHelp(command)}\n`);
    return EXIT.ok;
  }

  const controller = new AbortController();
  const io = createCliIo(controller.signal);
  let interrupts = 0;
  const cancelCommand = () => {
    interrupts++;
    if (interrupts > 1) process.exit(EXIT.cancelled);
    process.stderr.write('\ncancelling (Ctrl-C again to quit at once)...\n');
    controller.abort();
  };
  // Ctrl-C goes to the command when it asked for it (chat: stop the reply), else it cancels.
  const onSigint = () => {
    if (!io.dispatchInterrupt()) cancelCommand();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', cancelCommand);
  try {
    return await command.run(rest, io);
  } catch (error) {
    const e = asPajamasError(error);
    const [message, ...hints] = describeError(e, command, COMMANDS);
    io.log(`pajamas ${name}: ${message}`);
    for (const line of hints) io.log(line);
    if (e.code === 'usage') io.log(`run "pajamas ${name} --help" for its usage`);
    if (process.env.PAJAMAS_DEBUG && e.stack) io.log(e.stack);
    return exitCodeFor(e.code);
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', cancelCommand);
  }
}

/** Entry point of bin/pajamas.js: runs the CLI and sets the process exit code. */
export function runCli(): void {
  // llama.cpp tools run in process groups of their own, which a terminal's Ctrl-C does not reach:
  // however this process ends (a second Ctrl-C exits at once), take them down with it.
  process.on('exit', killRunningChildren);
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`pajamas: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = EXIT.failure;
    },
  );
}
