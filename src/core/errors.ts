/**
 * The project's error hierarchy. Every error that reaches a user is a PajamasError with a stable
 * `code`: the CLI maps codes to exit codes, the server serialises `{code, message, data}` and the
 * extension maps codes to notifications. Messages say what went wrong, where, and what to do next.
 */

export type ErrorCode = 'failure' | 'usage' | 'format' | 'unsupported' | 'tool' | 'quality-gate' | 'cancelled' | 'internal';

export class PajamasError extends Error {
  readonly code: ErrorCode;
  /** Structured details (paths, offsets, tool output) for logs and the JSON protocol. */
  readonly data: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, data: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.data = data;
  }
}

/**
 * The job options an error may point at, named by core's own keys: core never spells a CLI flag
 * or a VS Code setting, because the same error reaches both. An error about one option's value
 * (OptionError) says which in `data.option`, with `data.value` and `data.expected`; an error that
 * suggests other options or commands lists them in `data.remedies`. Each front end phrases them in
 * its own terms: the CLI as the flags of the command that ran (src/cli/hints.ts), the extension
 * as its settings and commands. The message itself reads on its own, without the remedies.
 */
export const OPTION_LABELS = {
  targets: 'the GGUF targets',
  strategies: 'the plan strategies',
  formats: 'the output formats',
  outDir: 'the output folder',
  imatrix: 'the importance matrix',
  mlxBits: 'the MLX bits',
  mlxGroupSize: 'the MLX group size',
  evalText: 'the evaluation text',
  contextSize: 'the context size',
  maxChunks: 'the number of chunks',
  gate: 'the quality gate',
  gateThresholdPct: 'the gate threshold',
  keepIntermediate: 'keeping the F16 intermediate',
  baseline: 'the F16 baseline',
  preTokenizer: 'the pre-tokenizer',
  llamaBinDir: 'the llama.cpp binaries folder',
  stockCheck: 'the check against the stock recipe',
} as const;

export type OptionKey = keyof typeof OPTION_LABELS;

/** Commands a remedy may suggest: quantize the model (again), build the llama.cpp tools. */
export type ActionKey = 'quantize' | 'buildLlamaTools';

/** Something the user can do about an error: set an option (to a value), or run a command. */
export type Remedy = { readonly option: OptionKey; readonly value?: string | number | boolean } | { readonly action: ActionKey };

/** A malformed file: names the file and, where known, the byte offset or tensor. */
export class FormatError extends PajamasError {
  constructor(
    message: string,
    data: { path?: string; offset?: number; tensor?: string; remedies?: readonly Remedy[] } = {},
    options?: { cause?: unknown },
  ) {
    super('format', describeLocation(message, data), data, options);
  }
}

/** Valid input that this version does not handle: says which, and what is supported. */
export class UnsupportedError extends PajamasError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super('unsupported', message, data);
  }
}

/** Wrong arguments or options. */
export class UsageError extends PajamasError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super('usage', message, data);
  }
}

/** An option with a value it cannot take: which option, the value, and what it takes. */
export class OptionError extends UsageError {
  constructor(option: OptionKey, value: unknown, expected: string, data: Record<string, unknown> = {}) {
    super(`${OPTION_LABELS[option]} must be ${expected}, got ${formatOptionValue(value)}`, { ...data, option, value, expected });
  }
}

/** How an option's value reads in a message: lists comma-separated, strings as they are. */
export function formatOptionValue(value: unknown): string {
  return Array.isArray(value) ? value.map(String).join(',') : String(value);
}

/** The option an OptionError (or any error with `data.option`) is about. */
export function optionOf(error: PajamasError): OptionKey | undefined {
  const option = error.data.option;
  return typeof option === 'string' && option in OPTION_LABELS ? (option as OptionKey) : undefined;
}

/** The remedies an error suggests (`data.remedies`), checked, in order. */
export function remediesOf(error: PajamasError): Remedy[] {
  const list = error.data.remedies;
  if (!Array.isArray(list)) return [];
  return list.filter((r): r is Remedy => {
    if (typeof r !== 'object' || r === null) return false;
    const { option, action } = r as { option?: unknown; action?: unknown };
    return (typeof option === 'string' && option in OPTION_LABELS) || action === 'quantize' || action === 'buildLlamaTools';
  });
}

/** A llama.cpp tool (or another external program) failed. */
export class ToolError extends PajamasError {
  readonly tool: string;
  readonly exitCode: number | null;
  readonly stderrTail: string[];

  constructor(tool: string, exitCode: number | null, stderrTail: string[], message?: string) {
    const tail = stderrTail.length ? `\n${stderrTail.map((l) => `  | ${l}`).join('\n')}` : '';
    const status = exitCode === null ? 'was killed' : `exited with code ${exitCode}`;
    super('tool', `${message ?? `${tool} ${status}`}${tail}`, { tool, exitCode, stderrTail });
    this.tool = tool;
    this.exitCode = exitCode;
    this.stderrTail = stderrTail;
  }
}

/** An artifact failed the quality gate (perplexity rose more than allowed). */
export class QualityGateError extends PajamasError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super('quality-gate', message, data);
  }
}

/** The user (or a signal) cancelled the job. */
export class CancelledError extends PajamasError {
  constructor(message = 'Cancelled') {
    super('cancelled', message);
  }
}

/** Any other failure: I/O errors, a damaged installation, states the user can fix. */
export class FailureError extends PajamasError {
  constructor(message: string, data: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super('failure', message, data, options);
  }
}

/**
 * A broken invariant: a bug in Llama-Pajamas (a writer used out of order, a table that lacks an
 * entry), never a problem with the user's input or options. The message says so, so that nobody
 * checks their flags or files over it, and asks for a report with the log.
 */
export class InternalError extends PajamasError {
  constructor(message: string, data: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super('internal', `${message} (this is a bug in Llama-Pajamas: please report it with the log)`, data, options);
  }
}

/** Why a Hugging Face Hub request failed, for callers that offer a next step (set a token, go online). */
export type HubFailure =
  'unauthorized' | 'forbidden' | 'not-found' | 'revision-not-found' | 'offline' | 'integrity' | 'server' | 'incomplete';

/**
 * A Hugging Face Hub download or lookup failed. The message names the repo and says what to do;
 * `reason` lets the extension offer the matching action. Never carries the access token.
 */
export class HubError extends FailureError {
  readonly reason: HubFailure;

  constructor(reason: HubFailure, message: string, data: { repo: string; status?: number; file?: string }, options?: { cause?: unknown }) {
    super(message, { ...data, reason }, options);
    this.reason = reason;
  }
}

function describeLocation(message: string, data: { path?: string; offset?: number; tensor?: string }): string {
  const where: string[] = [];
  if (data.path) where.push(data.path);
  if (data.tensor) where.push(`tensor "${data.tensor}"`);
  if (data.offset !== undefined) where.push(`offset ${data.offset}`);
  return where.length ? `${where.join(', ')}: ${message}` : message;
}

/** Throws CancelledError when the signal has fired; call between units of work. */
export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError();
}

/** Wraps an unknown thrown value as a PajamasError, keeping PajamasErrors as they are. */
export function asPajamasError(error: unknown): PajamasError {
  if (error instanceof PajamasError) return error;
  if (error instanceof Error) {
    if (error.name === 'AbortError') return new CancelledError();
    return new FailureError(error.message, {}, { cause: error });
  }
  return new FailureError(String(error));
}
