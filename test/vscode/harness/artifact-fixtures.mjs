// Artifacts the VS Code suites need in their workspace, made with the real pipeline from the shared
// trained model before code-server starts (both halves, in-host and UI, use them):
//   gqa-pajamas/        pajama-tiny-gqa quantized to Q4_K_M and Q8_0, evaluated against F16
//   truncated-pajamas/  a copy whose Q8_0 file was cut short (Verify must report it)
// The pipeline runs in a cache folder under test-output/ and skips what is unchanged on later runs.
// Without ../shared nothing is made; the tests that need these skip (and fail under PAJAMAS_REQUIRE_SHARED=1).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sharedRoot } from './fixtures.mjs';

export const GENERATED = 'gqa-pajamas';
export const TRUNCATED = 'truncated-pajamas';
/** The artifact of TRUNCATED that is cut short. */
export const TRUNCATED_ARTIFACT = 'pajama-tiny-gqa-Q8_0-pajamas';
/** Evaluation text: the first bytes of the held-out War and Peace (a few chunks of 128 tokens: quick). */
const EVAL_TEXT_BYTES = 6000;
const QUANTIZE_TIMEOUT_MS = 10 * 60_000;

/** Makes (or reuses) the artifacts and copies them into `ws`; returns what was skipped, if anything. */
export function prepareArtifacts(root, ws, log) {
  const shared = sharedRoot(root);
  const model = path.join(shared, 'models', 'pajama-tiny-gqa');
  if (!existsSync(model)) return `no ${shared}/models: the artifact fixtures were not made`;
  const cache = path.join(root, 'test-output', 'vscode-fixtures');
  mkdirSync(cache, { recursive: true });
  const evalText = path.join(cache, 'eval-text.txt');
  writeFileSync(evalText, readFileSync(path.join(shared, 'data', 'war-and-peace-heldout.txt')).subarray(0, EVAL_TEXT_BYTES));
  const out = path.join(cache, GENERATED);
  const started = Date.now();
  const args = ['bin/pajamas.js', 'quantize', model, '-o', out, '--targets', 'Q4_K_M,Q8_0', '--formats', 'gguf', '--imatrix', 'off'];
  args.push('--eval-text', evalText, '--ctx', '128', '--no-gate');
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: QUANTIZE_TIMEOUT_MS });
  if (r.status !== 0) throw new Error(`making the artifact fixtures failed (${r.status ?? r.signal}):\n${(r.stderr ?? '').slice(-2000)}`);
  log(`artifact fixtures ready in ${((Date.now() - started) / 1000).toFixed(1)} s (${out})`);
  cpSync(out, path.join(ws, GENERATED), { recursive: true });
  cpSync(out, path.join(ws, TRUNCATED), { recursive: true });
  const cut = path.join(ws, TRUNCATED, `${TRUNCATED_ARTIFACT}.gguf`);
  truncateSync(cut, Math.floor(statSync(cut).size / 2));
  return null;
}
