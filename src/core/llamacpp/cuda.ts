/**
 * CUDA for the llama.cpp build: with an NVIDIA driver and the CUDA compiler (nvcc) on the machine,
 * the tools and the runtime binding are built with GGML_CUDA, so `pajamas bench` compares the
 * runtime with llama-bench on the same GPU. PAJAMAS_LLAMA_CUDA=0 turns it off, =1 asks for it
 * without a driver check (a build machine without a GPU).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { findExecutable } from './build';

type Env = Record<string, string | undefined>;

/** Where the NVIDIA kernel driver reports itself on Linux. */
const NVIDIA_DRIVER_FILE = '/proc/driver/nvidia/version';

export function hasNvidiaDriver(platform: NodeJS.Platform = process.platform): boolean {
  return platform === 'linux' ? existsSync(NVIDIA_DRIVER_FILE) : false;
}

/** nvcc from PATH, else from CUDA_PATH or CUDA_HOME; null when there is none. */
export function findCudaCompiler(env: Env = process.env, platform: NodeJS.Platform = process.platform): string | null {
  const onPath = findExecutable('nvcc', env, platform);
  if (onPath) return onPath;
  for (const home of [env.CUDA_PATH, env.CUDA_HOME]) {
    if (!home) continue;
    const nvcc = path.join(home, 'bin', platform === 'win32' ? 'nvcc.exe' : 'nvcc');
    if (existsSync(nvcc)) return nvcc;
  }
  return null;
}

/** The CUDA compiler the build should use, or null for a CPU build. */
export function cudaCompilerForBuild(env: Env = process.env, platform: NodeJS.Platform = process.platform): string | null {
  const wanted = env.PAJAMAS_LLAMA_CUDA?.trim().toLowerCase();
  if (wanted && ['0', 'off', 'false', 'no'].includes(wanted)) return null;
  const forced = wanted !== undefined && ['1', 'on', 'true', 'yes'].includes(wanted);
  if (!forced && !hasNvidiaDriver(platform)) return null;
  return findCudaCompiler(env, platform);
}
