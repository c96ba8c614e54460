/**
 * Where MLX runs: Apple Silicon macOS. Elsewhere Llama-Pajamas still writes MLX models, but cannot
 * run them, and points users at GGUF (node-llama-cpp runs it everywhere).
 */
import os from 'node:os';

export interface MlxPlatformSupport {
  supported: boolean;
  /** "macOS arm64", "Linux x64"... */
  platform: string;
  /** One line for users: why not, and what to use instead. */
  message: string;
}

const OS_NAMES: Partial<Record<NodeJS.Platform, string>> = { darwin: 'macOS', linux: 'Linux', win32: 'Windows' };

export function mlxPlatformSupport(platform: NodeJS.Platform = process.platform, arch: string = process.arch): MlxPlatformSupport {
  const name = `${OS_NAMES[platform] ?? platform} ${arch}`;
  if (platform === 'darwin' && arch === 'arm64') return { supported: true, platform: name, message: `MLX runs on ${name}` };
  const rosetta =
    platform === 'darwin' && arch === 'x64' && os.cpus().some((c) => /Apple/.test(c.model))
      ? ' (this Node runs under Rosetta: use an arm64 Node)'
      : '';
  return {
    supported: false,
    platform: name,
    message:
      `MLX runs only on Apple Silicon Macs (macOS arm64), not on ${name}${rosetta}. Use the GGUF output here (it runs ` +
      `everywhere), or pass force to try installing mlx-lm anyway.`,
  };
}
