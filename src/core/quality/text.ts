/**
 * The evaluation text: the user's file, or the project's own default (data/eval-default.txt,
 * original prose written for Llama-Pajamas, never the calibration text). Recorded in manifests by
 * name and sha256, so results on different texts are never compared by mistake.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { dataPath } from '../assets';
import { type Remedy, UsageError } from '../errors';
import { sha256Text } from '../fs/hash';
import type { TextRef } from '../manifest/types';

export const DEFAULT_EVAL_TEXT = 'eval-default.txt';

export interface EvalText extends TextRef {
  path: string;
  bytes: number;
  isDefault: boolean;
}

/** The shipped default text (data/ in the package folder, from the sources or the bundles). */
export function defaultEvalTextPath(): string {
  const file = dataPath(DEFAULT_EVAL_TEXT);
  if (existsSync(file)) return file;
  throw new UsageError(
    `the default evaluation text data/${DEFAULT_EVAL_TEXT} is missing from this installation; name an evaluation text of your own`,
    { remedies: [{ option: 'evalText' }] satisfies Remedy[] },
  );
}

export async function resolveEvalText(file?: string): Promise<EvalText> {
  const isDefault = file === undefined;
  const p = path.resolve(file ?? defaultEvalTextPath());
  const bytes = await readFile(p).catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot read the evaluation text ${p}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`);
  });
  if (bytes.length === 0) throw new UsageError(`the evaluation text ${p} is empty`);
  return { path: p, name: path.basename(p), sha256: sha256Text(bytes), bytes: bytes.length, isDefault };
}

/**
 * The TextRef recorded with results. When the KL-divergence base covers only the first chunks
 * of the text (disk cap or --chunks), the name says so, because the numbers are then those of
 * that prefix and must not be compared with numbers on the whole text.
 */
export function textRefFor(text: EvalText, chunks: number | null, availableChunks: number, ctx: number): TextRef {
  if (chunks === null || chunks >= availableChunks) return { name: text.name, sha256: text.sha256 };
  return { name: `${text.name} (first ${chunks} x ${ctx} tokens)`, sha256: text.sha256 };
}
