/**
 * Files of the pinned llama.cpp source (node-llama-cpp's git bundle), for tests that need one, such
 * as the gpt-oss Harmony chat template llama.cpp keeps in models/templates/. Read with git from the
 * bundle into a temporary repository once per process.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findLlamaSource } from '../../src/core/llamacpp';

let fetched: Promise<string> | undefined;

async function fetchedRepo(): Promise<string> {
  fetched ??= (async () => {
    const source = await findLlamaSource();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pajamas-llama-src-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    execFileSync('git', ['init', '-q', dir]);
    execFileSync('git', ['-C', dir, 'fetch', '-q', source.bundlePath, 'HEAD']);
    return dir;
  })();
  return fetched;
}

/** The text of `relative` in the pinned llama.cpp source. */
export async function llamaCppSourceFile(relative: string): Promise<string> {
  const dir = await fetchedRepo();
  return execFileSync('git', ['-C', dir, 'show', `FETCH_HEAD:${relative}`], { encoding: 'utf8', maxBuffer: 64 << 20 });
}

/** The Harmony (gpt-oss) chat template as llama.cpp ships it. */
export function harmonyChatTemplate(): Promise<string> {
  return llamaCppSourceFile('models/templates/openai-gpt-oss-120b.jinja');
}
