/**
 * Which backend runs a target: MLX on Apple Silicon when the manifest has an MLX artifact and a
 * working mlx_lm venv exists; otherwise the GGUF through node-llama-cpp (whose own GPU detection
 * picks CUDA, Vulkan, Metal or the CPU). A named artifact decides the backend by its format; a
 * forced backend is honoured when the target has an artifact for it.
 */
import { UnsupportedError, UsageError } from '../errors';
import type { RuntimeTarget } from './target';
import type { BackendKind } from './types';

export interface BackendEnvironment {
  platform: NodeJS.Platform;
  arch: string;
  /** The venv python that can import mlx_lm, or null when there is none. */
  mlxPython: string | null;
}

export interface BackendDecision {
  backend: BackendKind;
  reason: string;
}

export function isAppleSilicon(env: Pick<BackendEnvironment, 'platform' | 'arch'>): boolean {
  return env.platform === 'darwin' && env.arch === 'arm64';
}

/** What the user asked for: a backend ('auto' or absent: decide) and/or an artifact id. */
export interface BackendRequest {
  backend?: BackendKind | 'auto';
  artifact?: string;
}

export function selectBackend(target: RuntimeTarget, env: BackendEnvironment, request: BackendRequest = {}): BackendDecision {
  const has = (format: BackendKind) => target.artifacts.some((a) => a.format === format);
  const forced = request.backend && request.backend !== 'auto' ? request.backend : null;
  if (request.artifact !== undefined) {
    const named = target.artifacts.find((a) => a.id === request.artifact);
    if (!named)
      throw new UsageError(`no artifact "${request.artifact}" in ${target.path}; it has ${target.artifacts.map((a) => a.id).join(', ')}`);
    if (forced && forced !== named.format)
      throw new UsageError(`artifact "${named.id}" is ${named.format}, but the ${forced} backend was asked for`);
    if (named.format === 'mlx') requireMlxPython(env);
    return { backend: named.format, reason: `artifact "${named.id}" was named` };
  }
  if (forced) {
    if (!has(forced)) throw new UsageError(`${target.path} has no ${forced.toUpperCase()} artifact for the ${forced} backend`);
    if (forced === 'mlx') requireMlxPython(env);
    return { backend: forced, reason: `the ${forced} backend was asked for` };
  }
  if (has('mlx') && isAppleSilicon(env) && env.mlxPython)
    return { backend: 'mlx', reason: 'Apple Silicon with an MLX artifact and mlx_lm' };
  if (has('gguf')) {
    const why = !has('mlx')
      ? 'the only format available'
      : !isAppleSilicon(env)
        ? 'MLX runs only on Apple Silicon'
        : 'no mlx_lm venv was found';
    return { backend: 'gguf', reason: `GGUF through node-llama-cpp (${why})` };
  }
  if (!isAppleSilicon(env)) {
    throw new UnsupportedError(
      `${target.path} has only MLX artifacts, and MLX runs only on Apple Silicon ` +
        `(this is ${env.platform}-${env.arch}); make a GGUF artifact too`,
    );
  }
  requireMlxPython(env);
  return { backend: 'mlx', reason: 'Apple Silicon with an MLX artifact and mlx_lm' };
}

function requireMlxPython(env: BackendEnvironment): void {
  if (env.mlxPython) return;
  const where = isAppleSilicon(env) ? '' : ` (and MLX runs only on Apple Silicon; this is ${env.platform}-${env.arch})`;
  throw new UnsupportedError(
    `the MLX backend needs a Python environment with mlx_lm${where}; ` +
      "set it up with Llama-Pajamas' managed venv, or point PAJAMAS_MLX_PYTHON at a python that can import mlx_lm",
  );
}
