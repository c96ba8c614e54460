/**
 * How a PajamasError crosses the worker boundary: the response error's `message` is the error's
 * message, and its `data` carries the stable code and the structured details, so the extension
 * can rebuild an error of the same code and choose the notification and actions from it.
 */
import type { ErrorCode } from '../core/errors';

/** JSON-RPC error code of every failure the worker reports on purpose (application range). */
export const WORKER_ERROR_CODE = -32001;

export interface WorkerErrorData {
  /** Marks data written by the worker (vs. an error raised by the RPC layer). */
  pajamas: true;
  code: ErrorCode;
  details: Record<string, unknown>;
  /** The worker-side stack of an unexpected failure, for the log; never shown in a notification. */
  stack?: string;
}

export function isWorkerErrorData(value: unknown): value is WorkerErrorData {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<WorkerErrorData>;
  return v.pajamas === true && typeof v.code === 'string' && typeof v.details === 'object' && v.details !== null;
}
