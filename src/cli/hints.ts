/**
 * Core errors in the CLI's terms. Core names options by its own keys (core/errors.ts: OptionKey);
 * here each key becomes the flag of the command that ran (its OptionSpec declares `option`), or,
 * when that command has no such flag, the command and flag that do. An OptionError reads
 * "--ctx must be an integer of at least 16, got 3"; remedies follow on a "hint:" line.
 */
import { type ActionKey, type PajamasError, type Remedy, formatOptionValue, optionOf, remediesOf } from '../core/errors';
import type { OptionSpec } from './args';
import type { Command } from './command';

const ACTIONS: Record<ActionKey, string> = {
  quantize: 'pajamas quantize <model>',
  buildLlamaTools: 'pajamas tools --build',
};

/** The lines the CLI prints for an error raised while `command` ran. */
export function describeError(error: PajamasError, command: Command, commands: readonly Command[]): string[] {
  const lines = [messageFor(error, command)];
  const hints = remediesOf(error)
    .map((r) => phraseRemedy(r, command, commands))
    .filter((h): h is string => h !== undefined);
  if (hints.length) lines.push(`hint: ${hints.join(' | ')}`);
  return lines;
}

function messageFor(error: PajamasError, command: Command): string {
  const option = optionOf(error);
  const expected = error.data.expected;
  const flag = option && flagOf(command, option);
  if (!flag || typeof expected !== 'string' || !('value' in error.data)) return error.message;
  return `--${flag.name} must be ${expected}, got ${formatOptionValue(error.data.value)}`;
}

function phraseRemedy(remedy: Remedy, command: Command, commands: readonly Command[]): string | undefined {
  if ('action' in remedy) return ACTIONS[remedy.action];
  const own = flagOf(command, remedy.option);
  if (own) return flagText(own, remedy.value);
  // Elsewhere, quantize first: a remedy from another command mostly means "make the artifacts again with...".
  for (const other of [...commands].sort((a, b) => Number(b.name === 'quantize') - Number(a.name === 'quantize'))) {
    const flag = flagOf(other, remedy.option);
    if (flag) return `pajamas ${other.name} ... ${flagText(flag, remedy.value)}`;
  }
  return undefined; // an option this CLI does not offer (the message says what to do without it)
}

function flagOf(command: Command, option: string): { name: string; spec: OptionSpec } | undefined {
  const entry = Object.entries(command.options).find(([, spec]) => spec.option === option);
  return entry && { name: entry[0], spec: entry[1] };
}

/** `--flag value`, `--flag <placeholder>`, `--flag` or `--no-flag`, as the value asks. */
function flagText({ name, spec }: { name: string; spec: OptionSpec }, value: string | number | boolean | undefined): string {
  if (spec.type === 'boolean') return value === false ? `--no-${name}` : `--${name}`;
  if (value === undefined) return spec.value ? `--${name} ${spec.value}` : `--${name}`;
  return `--${name} ${String(value)}`;
}
