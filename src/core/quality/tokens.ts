/**
 * Token count of a text as a model tokenizes it, with llama-tokenize (which loads only the
 * vocabulary, so it is fast even for large models). It prints through stdio, not llama.cpp's
 * asynchronous logger, so its output is complete when it exits.
 */
import { ToolError } from '../errors';
import { runLlamaTool } from '../llamacpp';
import type { ToolRunOptions } from './perplexity';

export function parseTokenCount(stdout: string): number | null {
  const m = /Total number of tokens:\s*(\d+)/.exec(stdout);
  return m ? Number(m[1]) : null;
}

/**
 * Tokens of `textFile` under `model`'s tokenizer, BOS included, as llama-perplexity counts them
 * (it may differ by the one trailing newline llama-perplexity strips from the file).
 */
export async function countTokens(model: string, textFile: string, opts: ToolRunOptions = {}): Promise<number> {
  // --no-escape: llama-perplexity reads its text verbatim too (it sets params.escape = false).
  const args = ['-m', model, '-f', textFile, '--ids', '--show-count', '--no-escape', '--log-disable'];
  const run = await runLlamaTool('llama-tokenize', args, { tools: opts.tools, signal: opts.signal, log: opts.log });
  const count = parseTokenCount(run.stdout);
  if (count === null) {
    throw new ToolError(
      'llama-tokenize',
      0,
      run.stderr
        .split('\n')
        .filter((l) => l.trim())
        .slice(-10),
      `llama-tokenize printed no token count for ${textFile} with ${model}`,
    );
  }
  return count;
}
