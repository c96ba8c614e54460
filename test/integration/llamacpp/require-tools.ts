/**
 * For integration tests that need the real llama.cpp tools. They never trigger a 10-minute build
 * as a side effect: when the tools are not built the test skips, or fails under CI=true, with
 * the command that builds them.
 */
import type { TestContext } from 'node:test';
import { type LlamaTools, locateLlamaTools } from '../../../src/core/llamacpp';

export async function requireLlamaTools(t: TestContext): Promise<LlamaTools | undefined> {
  const tools = await locateLlamaTools();
  if (tools) return tools;
  const message = 'needs the llama.cpp tools, which are not built; run "npm run build:llama" first';
  if (process.env.CI === 'true') throw new Error(`${message} (CI=true makes this a failure)`);
  t.skip(message);
  return undefined;
}
