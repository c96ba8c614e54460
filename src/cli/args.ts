/**
 * A small, strict argv parser: declared options only, `--name value`, `--name=value`, short
 * aliases, `--no-flag` for booleans, and `--` to end options. Unknown options are usage errors.
 */
import { type OptionKey, UsageError } from '../core/errors';

export interface OptionSpec {
  type: 'string' | 'boolean' | 'number';
  short?: string;
  /** Placeholder shown in help, e.g. "<file>". */
  value?: string;
  description: string;
  default?: string | boolean | number;
  /** The core option this flag sets, so errors that name that option can name this flag (hints.ts). */
  option?: OptionKey;
}

export type OptionSpecs = Record<string, OptionSpec>;

export type ParsedOptions<S extends OptionSpecs> = {
  [K in keyof S]: S[K]['type'] extends 'boolean' ? boolean : S[K]['type'] extends 'number' ? number | undefined : string | undefined;
};

export interface ParsedArgs<S extends OptionSpecs> {
  options: ParsedOptions<S>;
  positionals: string[];
}

export function parseArgs<S extends OptionSpecs>(argv: readonly string[], specs: S): ParsedArgs<S> {
  const options: Record<string, string | boolean | number | undefined> = {};
  for (const [name, spec] of Object.entries(specs)) {
    options[name] = spec.default ?? (spec.type === 'boolean' ? false : undefined);
  }
  const byShort = new Map(
    Object.entries(specs)
      .filter(([, s]) => s.short)
      .map(([n, s]) => [s.short!, n]),
  );
  const positionals: string[] = [];

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    let name: string;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
    } else {
      const mapped = byShort.get(arg.slice(1));
      if (!mapped) throw new UsageError(`unknown option ${arg}`);
      name = mapped;
    }
    const spec = specs[name];
    if (!spec && name.startsWith('no-') && specs[name.slice(3)]?.type === 'boolean' && inline === undefined) {
      options[name.slice(3)] = false;
      continue;
    }
    if (!spec) throw new UsageError(`unknown option --${name}`);
    if (spec.type === 'boolean') {
      if (inline !== undefined) throw new UsageError(`option --${name} takes no value`);
      options[name] = true;
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`option --${name} needs a value${spec.value ? ` ${spec.value}` : ''}`);
    if (spec.type === 'number') {
      const n = Number(value);
      if (!Number.isFinite(n)) throw new UsageError(`option --${name} needs a number, got "${value}"`);
      options[name] = n;
    } else {
      options[name] = value;
    }
  }
  return { options: options as ParsedOptions<S>, positionals };
}

/** The option lines of a command's help text. */
export function formatOptions(specs: OptionSpecs): string {
  const rows = Object.entries(specs).map(([name, s]) => {
    const flag = `${s.short ? `-${s.short}, ` : '    '}--${name}${s.value ? ` ${s.value}` : ''}`;
    const dflt = s.default !== undefined && s.default !== false ? ` (default ${String(s.default)})` : '';
    return [flag, s.description + dflt] as const;
  });
  const width = Math.max(0, ...rows.map(([f]) => f.length)) + 2;
  return rows.map(([f, d]) => `  ${f.padEnd(width)}${d}`).join('\n');
}

/** The one positional argument a command takes, or a UsageError saying what is missing or extra. */
export function onePositional(positionals: readonly string[], what: string): string {
  if (positionals.length === 1) return positionals[0]!;
  throw new UsageError(
    positionals.length === 0 ? `missing ${what}` : `expected one ${what}, got ${positionals.length}: ${positionals.join(' ')}`,
  );
}
