/**
 * The project's error hierarchy. Every error that reaches a user is a PajamasError with a stable
 * `code`: the CLI maps codes to exit codes, the server serialises `{code, message, data}` and the
 * extension maps codes to notifications. Messages say what went wrong, where, and what to do next.
 */

export type ErrorCode = 'failure' | 'usage' | 'format' | 'unsupported' | 'tool' | 'quality-gate' | 'cancelled';

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

/** A malformed file: names the file and, where known, the byte offset or tensor. */
export class FormatError extends PajamasError {
  constructor(message: string, data: { path?: string; offset?: number; tensor?: string } = {}, options?: { cause?: unknown }) {
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

/** Any other failure: I/O errors, unexpected states. */
export class FailureError extends PajamasError {
  constructor(message: string, data: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super('failure', message, data, options);
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
