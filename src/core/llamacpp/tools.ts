/**
 * The llama.cpp programs the project drives, and the shape in which they are handed around: one
 * directory of binaries plus the release they were built from. Everything else in this folder
 * either finds such a set (a build cache, a user-provided directory) or runs one of its tools.
 */

/** The tools built from the pinned llama.cpp source, in the order `pajamas tools` lists them. */
export const LLAMA_TOOLS = [
  'llama-quantize',
  'llama-imatrix',
  'llama-perplexity',
  'llama-bench',
  'llama-tokenize',
  'llama-simple',
  'llama-server',
] as const;

export type LlamaToolName = (typeof LLAMA_TOOLS)[number];

export function isLlamaToolName(name: string): name is LlamaToolName {
  return (LLAMA_TOOLS as readonly string[]).includes(name);
}

/** Where a set of tools came from: the per-machine build cache, or a directory the user named. */
export type LlamaToolsSource = 'cache' | 'bin-dir';

export interface LlamaTools {
  /**
   * The llama.cpp release: for the cache, node-llama-cpp's tag (e.g. "v0.4.0"); for a user
   * directory, what the tools print with --version (e.g. "0.4.0-dev" or "b6123"), or "unknown".
   */
  release: string;
  /** Git commit (full for the cache, short as printed for a user directory), when known. */
  commit: string | null;
  source: LlamaToolsSource;
  /** Directory that holds the binaries. */
  binDir: string;
  /** Absolute path of each tool. */
  tools: Record<LlamaToolName, string>;
  /** Build flavour for the cache ("native", "portable", ...); null for a user directory. */
  flavour: string | null;
  /** Things the user should know, e.g. a user directory built from another commit than the runtime. */
  warnings: string[];
}

/** The file name of a tool on this platform. */
export function toolFileName(tool: LlamaToolName, platform: NodeJS.Platform = process.platform): string {
  return platform === 'win32' ? `${tool}.exe` : tool;
}
