// Command-line options of the bench scripts: `--name value` and `--flag`.
const args = process.argv.slice(2);

/** The value after `--name`, or `fallback`. */
export function option(name, fallback) {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
}

/** Whether `--name` was given. */
export function flag(name) {
  return args.includes(`--${name}`);
}
