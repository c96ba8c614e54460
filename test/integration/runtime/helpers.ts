/**
 * Shared by the runtime integration tests: the built CLI, llama.cpp's own llama-simple as the
 * reference for greedy output, GGUF requantizations of stories260K, and manifests made by the
 * pipeline (`pajamas quantize`) from the shared tiny models.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { type LlamaTools, runLlamaTool } from '../../../src/core/llamacpp';
import { projectRoot, sharedAsset } from '../../helpers/env';

export const CLI = path.join(projectRoot, 'bin', 'pajamas.js');
/** One thread: deterministic timing on a busy shared machine (the results do not depend on it). */
export const THREADS = '1';

let built = false;
export function buildCli(): void {
  if (built) return;
  const r = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: projectRoot, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`esbuild failed:\n${r.stderr}`);
  built = true;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function pajamas(args: string[], env: NodeJS.ProcessEnv = {}): CliResult {
  buildCli();
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: projectRoot,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 300_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `pajamas ...` as a child whose stdin the test writes and whose output it watches. */
export function pajamasChild(args: string[]) {
  buildCli();
  const child = spawn(process.execPath, [CLI, ...args], { cwd: projectRoot, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitFor = async (what: () => boolean, label: string, timeoutMs = 120_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!what()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}\nstdout: ${stdout}\nstderr: ${stderr}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  return { child, exited, waitFor, stdout: () => stdout, stderr: () => stderr };
}

/** llama.cpp's examples/simple: greedy, BOS + special tokens parsed, no chat template. Its stdout without the final newline. */
export async function llamaSimple(tools: LlamaTools, file: string, prompt: string, nPredict: number): Promise<string> {
  const r = await runLlamaTool('llama-simple', ['-m', file, '-n', String(nPredict), prompt], { tools });
  return r.stdout.replace(/\n$/, '');
}

/** `llama-quantize src <dir>/<name> TYPE` (tiny files: a second or two). */
export async function requantize(tools: LlamaTools, src: string, dir: string, type: 'F16' | 'Q8_0'): Promise<string> {
  const out = path.join(dir, `${path.basename(src, '.gguf')}-${type}.gguf`);
  await runLlamaTool('llama-quantize', [src, out, type], { tools });
  return out;
}

/** stories260K (F32 as published) and its F16 and Q8_0 requantizations, in `dir`. */
export async function storiesModels(t: TestContext, tools: LlamaTools, dir: string): Promise<string[] | undefined> {
  const src = sharedAsset(t, 'models/stories260K-gguf/stories260K.gguf');
  if (!src) return undefined;
  const copy = path.join(dir, 'stories260K.gguf');
  copyFileSync(src, copy);
  return [copy, await requantize(tools, copy, dir, 'F16'), await requantize(tools, copy, dir, 'Q8_0')];
}

/**
 * A manifest made by the pipeline from ../shared/models/<model>: GGUF at every target, both
 * strategies, no imatrix, no evaluation (seconds for the tiny models). Skips when the model is absent.
 */
export function pipelineManifest(t: TestContext, model: string, outDir: string): string | undefined {
  const src = sharedAsset(t, `models/${model}`);
  if (!src) return undefined;
  const r = pajamas([
    'quantize',
    src,
    '-o',
    outDir,
    '--formats',
    'gguf',
    '--targets',
    'Q4_K_M,Q5_K_M,Q6_K,Q8_0',
    '--strategy',
    'pajamas,naive',
    '--imatrix',
    'off',
    '--no-eval',
    // The runtime needs files, not the check against stock (minutes of llama-perplexity passes).
    '--no-stock-check',
  ]);
  if (r.code !== 0) throw new Error(`pajamas quantize ${model} failed (exit ${r.code}):\n${r.stderr}`);
  const manifest = path.join(outDir, 'manifest.json');
  if (!existsSync(manifest)) throw new Error(`pajamas quantize wrote no ${manifest}`);
  return manifest;
}
