/**
 * The calling convention of every long-running core function: `(input, {signal, onProgress, log})`.
 * The CLI turns progress into bars on stderr; the server turns it into work-done progress.
 */

export interface Progress {
  /** Short name of the step, e.g. "convert", "quantize Q4_K_M". */
  step: string;
  /** Units done and total units (bytes, tensors, chunks...). */
  done?: number;
  total?: number;
  unit?: 'bytes' | 'tensors' | 'chunks' | 'steps' | 'files';
  /** One line describing what is happening now. */
  message?: string;
}

export type Logger = (line: string) => void;

export interface JobOptions {
  signal?: AbortSignal;
  onProgress?: (progress: Progress) => void;
  /** Diagnostic lines (tool output, decisions); never the result itself. */
  log?: Logger;
}

export const noLog: Logger = () => {};
