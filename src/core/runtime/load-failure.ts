/**
 * When llama.cpp refuses a model that passed the pre-flight check, its own log lines say why (a
 * missing key or tensor, a shape it rejects). That is a problem with the file, reported as a
 * FormatError with those reasons; running out of memory while loading is not, and stays a failure.
 */
import { FailureError, FormatError, type PajamasError } from '../errors';
import type { Logger } from '../job';

const ERROR_PREFIX = '[llama.cpp error] ';
const OUT_OF_MEMORY = /unable to allocate|failed to allocate|out of memory|OutOfDeviceMemory|cudaMalloc failed|mmap failed/i;
/** llama.cpp's lines that repeat what the others say. */
const GENERIC = /failed to load model$|error loading model$/;

/** A logger that also keeps llama.cpp's error lines, for the message if loading fails. */
export function collectLoadErrors(log: Logger | undefined): { log: Logger; errors: string[] } {
  const errors: string[] = [];
  return {
    errors,
    log: (line) => {
      if (line.startsWith(ERROR_PREFIX)) errors.push(line.slice(ERROR_PREFIX.length).trim());
      log?.(line);
    },
  };
}

export function modelLoadError(modelPath: string, error: unknown, llamaErrors: readonly string[]): PajamasError {
  const why = error instanceof Error ? error.message : String(error);
  const reasons = llamaErrors.filter((l) => !GENERIC.test(l)).slice(-3);
  const detail = reasons.length ? reasons.join('; ') : why;
  if (OUT_OF_MEMORY.test(detail) || OUT_OF_MEMORY.test(why)) {
    return new FailureError(`${modelPath}: not enough memory to load the model (${detail})`, { path: modelPath }, { cause: error });
  }
  return new FormatError(`llama.cpp could not load the model: ${detail}`, { path: modelPath }, { cause: error });
}
