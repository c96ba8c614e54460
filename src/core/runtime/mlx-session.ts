/**
 * The MLX backend: `python -m mlx_lm.server` from the managed venv serves the MLX folder on a
 * loopback port, and the session speaks the OpenAI-compatible streaming API to it. MLX runs only
 * on Apple Silicon; elsewhere this is reached only when the user forces it.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../job';
import { startServerProcess } from './server-process';
import { createServerSession } from './server-session';
import type { RuntimeSession } from './types';

export const MLX_SERVER_MODULE = 'mlx_lm.server';
/** How long `python -c "import mlx_lm"` may take (a cold venv imports slowly). */
const PROBE_TIMEOUT_MS = 30_000;

export interface MlxSessionOptions {
  /** The venv's python executable. */
  python: string;
  /** Absolute path of the MLX model folder. */
  modelPath: string;
  artifactId: string;
  contextSize: number;
  fit: string;
  systemPrompt?: string;
  signal?: AbortSignal;
  log?: Logger;
  readyTimeoutMs?: number;
}

export async function openMlxSession(opts: MlxSessionOptions): Promise<RuntimeSession> {
  const server = await startServerProcess({
    name: MLX_SERVER_MODULE,
    command: opts.python,
    args: (host, port) => ['-m', MLX_SERVER_MODULE, '--model', opts.modelPath, '--host', host, '--port', String(port)],
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
    signal: opts.signal,
    log: opts.log,
    readyTimeoutMs: opts.readyTimeoutMs,
  });
  return createServerSession({
    server: { baseUrl: server.baseUrl, name: MLX_SERVER_MODULE },
    info: {
      backend: 'mlx',
      artifactId: opts.artifactId,
      modelPath: opts.modelPath,
      contextSize: opts.contextSize,
      device: 'metal',
      fit: opts.fit,
      chatTemplate: await hasChatTemplate(opts.modelPath),
    },
    systemPrompt: opts.systemPrompt,
    onClose: () => server.stop(),
  });
}

/** mlx_lm takes the template from tokenizer_config.json or a chat_template.jinja beside it. */
async function hasChatTemplate(dir: string): Promise<boolean> {
  if (existsSync(path.join(dir, 'chat_template.jinja'))) return true;
  try {
    const config = JSON.parse(await readFile(path.join(dir, 'tokenizer_config.json'), 'utf8')) as { chat_template?: unknown };
    return Boolean(config.chat_template);
  } catch {
    return false;
  }
}

/** True when `python` runs and can import mlx_lm (what "a working mlx_lm venv" means here). */
export function canImportMlxLm(python: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(python, ['-c', 'import mlx_lm'], { stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), PROBE_TIMEOUT_MS);
    child.on('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code === 0);
    });
  });
}
