/**
 * Errors across the process boundary: the host sends `{code, message, data}` and the parent
 * rebuilds the matching PajamasError subclass, so callers see the same classes (and the CLI the
 * same exit codes) as if the model ran in their own process.
 */
import {
  CancelledError,
  type ErrorCode,
  FailureError,
  FormatError,
  PajamasError,
  QualityGateError,
  UnsupportedError,
  UsageError,
  asPajamasError,
} from '../../errors';
import type { SerializedError } from './protocol';

export function serializeError(error: unknown): SerializedError {
  const e = asPajamasError(error);
  let data: Record<string, unknown> = {};
  try {
    data = JSON.parse(JSON.stringify(e.data)) as Record<string, unknown>;
  } catch {
    // data that does not serialise stays behind; the message says what matters
  }
  return { code: e.code, message: e.message, data };
}

const REBUILD: Record<ErrorCode, (message: string) => PajamasError> = {
  failure: (m) => new FailureError(m),
  usage: (m) => new UsageError(m),
  // The message already names the location; rebuilding with data would name it twice.
  format: (m) => new FormatError(m),
  unsupported: (m) => new UnsupportedError(m),
  tool: (m) => new PajamasError('tool', m),
  'quality-gate': (m) => new QualityGateError(m),
  cancelled: (m) => new CancelledError(m),
  // The host's InternalError already added its "please report" sentence to the message.
  internal: (m) => new PajamasError('internal', m),
};

export function deserializeError(error: SerializedError): PajamasError {
  const rebuild = Object.hasOwn(REBUILD, error.code) ? REBUILD[error.code as ErrorCode] : REBUILD.failure;
  const e = rebuild(error.message);
  Object.assign(e.data, error.data);
  return e;
}
