/**
 * Which llama.cpp tools a job uses: a user-provided directory when one is named (option, then
 * PAJAMAS_LLAMA_BIN_DIR), otherwise the per-machine build of node-llama-cpp's bundled source,
 * built on first use unless the caller says not to.
 */
import { FailureError, type Remedy } from '../errors';
import type { JobOptions } from '../job';
import { validateLlamaBinDir } from './bin-dir';
import { buildLlamaTools } from './build';
import { type LlamaBuildSettingsOptions, buildFlavour, cacheLayout, checkBuildMarker, resolveBuildSettings } from './cache';
import { findLlamaSource } from './source';
import type { LlamaTools } from './tools';

export interface LlamaToolsOptions extends JobOptions, LlamaBuildSettingsOptions {
  /** User-provided binaries; default PAJAMAS_LLAMA_BIN_DIR. An empty string means "none". */
  binDir?: string;
  /** Where node_modules/node-llama-cpp is searched from (default: this module, then the cwd). */
  packageRoot?: string;
  /** 'auto' (default): build when missing; 'never': fail when missing; 'force': rebuild. */
  build?: 'auto' | 'never' | 'force';
  /** false: fail instead of waiting when another process is building. */
  wait?: boolean;
  /** Parallel compile jobs for a build. */
  jobs?: number;
}

export type LlamaToolsStatus =
  | { available: true; tools: LlamaTools }
  | {
      available: false;
      release: string;
      commit: string;
      flavour: string;
      /** The cache directory the build would go to. */
      dir: string;
      reason: string;
    };

/** The user's binary directory and where it was named, or null. */
export function userBinDir(opts: Pick<LlamaToolsOptions, 'binDir'>): { dir: string; origin: string } | null {
  if (opts.binDir !== undefined) return opts.binDir ? { dir: opts.binDir, origin: 'the llama.cpp binary directory' } : null;
  const fromEnv = process.env.PAJAMAS_LLAMA_BIN_DIR;
  return fromEnv ? { dir: fromEnv, origin: 'PAJAMAS_LLAMA_BIN_DIR' } : null;
}

/** What `pajamas tools` shows: the tools in use, or why there are none yet. Never builds. */
export async function llamaToolsStatus(opts: LlamaToolsOptions = {}): Promise<LlamaToolsStatus> {
  const user = userBinDir(opts);
  const source = await findLlamaSource(opts.packageRoot).catch((error: unknown) => {
    if (user) return null; // a user directory works without node-llama-cpp's source
    throw error;
  });
  if (user)
    return {
      available: true,
      tools: await validateLlamaBinDir(user.dir, { signal: opts.signal, origin: user.origin, expectedCommit: source?.commit }),
    };
  const settings = resolveBuildSettings(opts);
  const flavour = buildFlavour(settings);
  const layout = cacheLayout(settings.root, source!.release, flavour);
  const check = await checkBuildMarker(layout, { release: source!.release, commit: source!.commit, flavour });
  if (!check.ok)
    return { available: false, release: source!.release, commit: source!.commit, flavour, dir: layout.dir, reason: check.reason };
  return {
    available: true,
    tools: {
      release: source!.release,
      commit: source!.commit,
      source: 'cache',
      binDir: layout.bin,
      tools: check.tools,
      flavour,
      warnings: [],
    },
  };
}

/** The tools in use without building anything: null when the cache has no complete build. */
export async function locateLlamaTools(opts: LlamaToolsOptions = {}): Promise<LlamaTools | null> {
  const status = await llamaToolsStatus(opts);
  return status.available ? status.tools : null;
}

/**
 * The tools a job should run: the user's directory (validated), else the cache, built now (with
 * progress, under a lock; about 10 minutes on 2 cores) when it is missing or incomplete.
 */
export async function ensureLlamaTools(opts: LlamaToolsOptions = {}): Promise<LlamaTools> {
  const status = await llamaToolsStatus(opts);
  if (status.available && (opts.build !== 'force' || status.tools.source === 'bin-dir')) return status.tools;
  if (!status.available && opts.build === 'never') {
    throw new FailureError(`the llama.cpp tools are not built (${status.reason}); build them first`, {
      dir: status.dir,
      remedies: [{ action: 'buildLlamaTools' }] satisfies Remedy[],
    });
  }
  const source = await findLlamaSource(opts.packageRoot);
  const settings = resolveBuildSettings(opts);
  const flavour = buildFlavour(settings);
  const layout = cacheLayout(settings.root, source.release, flavour);
  const result = await buildLlamaTools(source, settings, layout, { ...opts, force: opts.build === 'force' });
  return {
    release: source.release,
    commit: source.commit,
    source: 'cache',
    binDir: layout.bin,
    tools: result.tools,
    flavour,
    warnings: [],
  };
}
