/**
 * The built llama.cpp tools for integration tests. Tests never start the ten-minute build
 * themselves: when the tools are missing they skip with a message, and fail under CI=true
 * (.ci/run builds them first with `npm run build:llama`).
 */
import type { TestContext } from 'node:test';
import { llamaToolsStatus, type LlamaTools } from '../../src/core/llamacpp';

export async function llamaToolsOrSkip(t: TestContext): Promise<LlamaTools | undefined> {
  const status = await llamaToolsStatus();
  if (status.available) return status.tools;
  const message = `needs the llama.cpp tools (${status.reason}); run "npm run build:llama" first`;
  if (process.env.CI === 'true') throw new Error(`${message}; CI=true makes this a failure`);
  t.skip(message);
  return undefined;
}
