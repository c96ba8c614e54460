/** The CLI's exit codes, documented in the README. */
import type { ErrorCode } from '../core/errors';

export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  badInput: 3,
  unsupported: 4,
  qualityGate: 5,
  cancelled: 130,
} as const;

export function exitCodeFor(code: ErrorCode): number {
  switch (code) {
    case 'usage':
      return EXIT.usage;
    case 'format':
      return EXIT.badInput;
    case 'unsupported':
      return EXIT.unsupported;
    case 'quality-gate':
      return EXIT.qualityGate;
    case 'cancelled':
      return EXIT.cancelled;
    case 'tool':
    case 'failure':
    case 'internal':
      return EXIT.failure;
    default: {
      const unreachable: never = code;
      return unreachable;
    }
  }
}
