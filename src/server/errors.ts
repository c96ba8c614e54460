/**
 * Errors leave the worker as JSON-RPC response errors carrying the PajamasError's code and data
 * (src/protocol/errors.ts), so the extension rebuilds an error of the same code.
 */
import { ResponseError } from 'vscode-languageserver/node';
import { asPajamasError } from '../core/errors';
import { WORKER_ERROR_CODE, type WorkerErrorData } from '../protocol/errors';

/** Details that do not survive JSON (reports with cyclic parts, buffers) are replaced by their type. */
function jsonSafe(details: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(details)) {
    try {
      out[key] = JSON.parse(JSON.stringify(value ?? null)) as unknown;
    } catch {
      out[key] = `(${typeof value})`;
    }
  }
  return out;
}

export function toResponseError(error: unknown): ResponseError<WorkerErrorData> {
  const e = asPajamasError(error);
  const unexpected = e.code === 'failure' && e.cause instanceof Error ? e.cause.stack : undefined;
  const data: WorkerErrorData = { pajamas: true, code: e.code, details: jsonSafe(e.data), ...(unexpected ? { stack: unexpected } : {}) };
  return new ResponseError(WORKER_ERROR_CODE, e.message, data);
}

/** Wraps a request handler so every failure leaves as a PajamasError response. */
export function handled<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args) => {
    try {
      return await fn(...args);
    } catch (error) {
      throw toResponseError(error);
    }
  };
}
