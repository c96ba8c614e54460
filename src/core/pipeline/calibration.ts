/**
 * Calibration text for the importance matrix: the user's file, or the project's own default
 * (data/calibration/*.txt, concatenated in name order). It is split into rounds of paragraphs,
 * each round drawing from every part of the text, so an MoE top-up round brings new and varied
 * material rather than more of the same. Calibration and evaluation text must differ (by hash).
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { dataPath } from '../assets';
import { FailureError, UsageError } from '../errors';
import { sha256Text } from '../fs/hash';
import type { TextRef } from '../manifest/types';

export const DEFAULT_CALIBRATION_NAME = 'llama-pajamas default calibration';

export interface CalibrationText {
  ref: TextRef;
  text: string;
}

export async function loadCalibrationText(file: string | null): Promise<CalibrationText> {
  if (file) {
    const text = await readFile(file, 'utf8').catch(() => {
      throw new UsageError(`cannot read the calibration file ${file}`);
    });
    if (!text.trim()) throw new UsageError(`the calibration file ${file} is empty`);
    return { ref: { name: path.basename(file), sha256: sha256Text(text) }, text };
  }
  const dir = dataPath('calibration');
  const names = (await readdir(dir)).filter((f) => f.endsWith('.txt')).sort();
  if (!names.length) throw new FailureError(`the default calibration text is missing from ${dir}: the installation is damaged`);
  const parts = await Promise.all(names.map((n) => readFile(path.join(dir, n), 'utf8')));
  const text = parts.join('\n\n');
  return { ref: { name: DEFAULT_CALIBRATION_NAME, sha256: sha256Text(text) }, text };
}

/** Refuses to calibrate and evaluate on the same text. */
export function assertDistinctTexts(calibration: TextRef, evaluation: TextRef): void {
  if (calibration.sha256 === evaluation.sha256) {
    throw new UsageError(
      `the calibration text and the evaluation text are the same (${calibration.name}); a model calibrated on its evaluation text ` +
        `flatters itself: use different texts`,
    );
  }
}

/** Calibration rounds: the first uses half of the paragraphs, each top-up round a quarter. */
const ROUNDS = 3;
/**
 * Below this the text is not split: a top-up round gets a quarter of it, about 2,000 tokens at ~4
 * characters a token, which keeps above llama-imatrix's minimum of two 512-token chunks.
 */
const MIN_SPLIT_CHARS = 32 * 1024;

/**
 * Round k's text: paragraphs are dealt in turn (0,1 -> round 1; 2 -> round 2; 3 -> round 3), so every
 * round samples the whole text: prose, dialogue, code, other languages.
 */
export function calibrationRounds(text: string): string[] {
  // A short text stays whole: each round must still give llama-imatrix at least two chunks.
  if (text.length < MIN_SPLIT_CHARS) return [text];
  const paragraphs = text
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter(Boolean);
  const rounds: string[][] = Array.from({ length: ROUNDS }, () => []);
  paragraphs.forEach((p, i) => {
    const slot = i % 4;
    rounds[slot <= 1 ? 0 : slot - 1]!.push(p);
  });
  return rounds.map((r) => r.join('\n\n')).filter((r) => r.length > 0);
}
