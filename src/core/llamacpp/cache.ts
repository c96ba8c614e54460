/**
 * The per-machine build cache: `<root>/llama.cpp/<release>-<flavour>/{src,build,bin}` plus a
 * completion marker written last. A directory without a valid marker is an interrupted build and
 * is redone, never used. Settings come from options first, then the environment:
 * - PAJAMAS_CACHE_DIR (else $XDG_CACHE_HOME/llama-pajamas, else ~/.cache/llama-pajamas)
 * - PAJAMAS_LLAMA_NATIVE=0 for portable binaries (GGML_NATIVE=OFF)
 * - PAJAMAS_LLAMA_CMAKE_ARGS: extra cmake arguments (they change the flavour, hence the directory)
 */
import { cudaCompilerForBuild } from './cuda';
import { patchesHash } from './patches';
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { writeAtomically } from '../fs/atomic';
import { LLAMA_TOOLS, type LlamaToolName, toolFileName } from './tools';

export const MARKER_FILE = 'complete.json';
export const MARKER_VERSION = 1;

export interface LlamaBuildSettings {
  /** Cache root (holds `llama.cpp/<key>/`). */
  root: string;
  /**
   * GGML_NATIVE. On by default: the cache is private to this machine, so binaries tuned for its
   * CPU (AVX2/AVX-512/...) make quantize, imatrix and perplexity faster, and nothing built here is
   * shipped elsewhere. Turn it off when the cache directory is shared between different CPUs.
   */
  native: boolean;
  extraCmakeArgs: string[];
  /** nvcc, when the build includes CUDA (cuda.ts decides); absent for a CPU build. */
  cudaCompiler?: string;
}

export interface LlamaBuildSettingsOptions {
  cacheDir?: string;
  native?: boolean;
  extraCmakeArgs?: string[];
  /** nvcc for a CUDA build, or null for none; default: detected (cuda.ts). */
  cudaCompiler?: string | null;
}

type Env = Record<string, string | undefined>;

export function llamaCacheRoot(env: Env = process.env, home: string = os.homedir()): string {
  if (env.PAJAMAS_CACHE_DIR) return path.resolve(env.PAJAMAS_CACHE_DIR);
  if (env.XDG_CACHE_HOME) return path.join(path.resolve(env.XDG_CACHE_HOME), 'llama-pajamas');
  return path.join(home, '.cache', 'llama-pajamas');
}

export function resolveBuildSettings(opts: LlamaBuildSettingsOptions = {}, env: Env = process.env): LlamaBuildSettings {
  const nativeEnv = env.PAJAMAS_LLAMA_NATIVE?.trim().toLowerCase();
  const nativeFromEnv = nativeEnv === undefined || nativeEnv === '' ? undefined : !['0', 'off', 'false', 'no'].includes(nativeEnv);
  const cudaCompiler = opts.cudaCompiler === undefined ? cudaCompilerForBuild(env) : opts.cudaCompiler;
  return {
    root: opts.cacheDir ? path.resolve(opts.cacheDir) : llamaCacheRoot(env),
    native: opts.native ?? nativeFromEnv ?? true,
    extraCmakeArgs: opts.extraCmakeArgs ?? env.PAJAMAS_LLAMA_CMAKE_ARGS?.split(/\s+/).filter(Boolean) ?? [],
    ...(cudaCompiler ? { cudaCompiler } : {}),
  };
}

/** "native" or "portable", "-cuda" for a CUDA build, the source patch set, plus a short hash of any extra cmake arguments. */
export function buildFlavour(settings: Pick<LlamaBuildSettings, 'native' | 'extraCmakeArgs' | 'cudaCompiler'>): string {
  const base = `${settings.native ? 'native' : 'portable'}${settings.cudaCompiler ? '-cuda' : ''}-p${patchesHash()}`;
  if (!settings.extraCmakeArgs.length) return base;
  const hash = createHash('sha256').update(settings.extraCmakeArgs.join('\0')).digest('hex').slice(0, 8);
  return `${base}-${hash}`;
}

/** The cmake configure flags of a build (generator and paths aside); recorded in the marker. */
export function cmakeFlags(settings: Pick<LlamaBuildSettings, 'native' | 'extraCmakeArgs' | 'cudaCompiler'>): string[] {
  return [
    '-DCMAKE_BUILD_TYPE=Release',
    '-DBUILD_SHARED_LIBS=OFF',
    `-DGGML_NATIVE=${settings.native ? 'ON' : 'OFF'}`,
    '-DLLAMA_OPENSSL=OFF',
    '-DLLAMA_BUILD_TESTS=OFF',
    // The server, without its web UI: the prebuilt UI would be downloaded at configure time.
    '-DLLAMA_BUILD_SERVER=ON',
    '-DLLAMA_USE_PREBUILT_UI=OFF',
    '-DLLAMA_BUILD_UI=OFF',
    '-DLLAMA_BUILD_APP=OFF',
    // GPU builds compile for this machine's GPU (GGML_NATIVE) or, portable, for llama.cpp's default list.
    ...(settings.cudaCompiler ? ['-DGGML_CUDA=ON', `-DCMAKE_CUDA_COMPILER=${settings.cudaCompiler}`] : []),
    ...settings.extraCmakeArgs,
  ];
}

/** A release tag made safe as one path component. */
export function cacheKey(release: string, flavour: string): string {
  return `${release}-${flavour}`.replace(/[^A-Za-z0-9._-]/g, '_');
}

export interface CacheLayout {
  dir: string;
  src: string;
  build: string;
  bin: string;
  marker: string;
  lock: string;
  log: string;
}

export function cacheLayout(root: string, release: string, flavour: string): CacheLayout {
  const key = cacheKey(release, flavour);
  const dir = path.join(root, 'llama.cpp', key);
  return {
    dir,
    src: path.join(dir, 'src'),
    build: path.join(dir, 'build'),
    bin: path.join(dir, 'bin'),
    marker: path.join(dir, MARKER_FILE),
    // Next to the directory, not inside it, so removing a broken build never removes the lock.
    lock: path.join(root, 'llama.cpp', `${key}.lock`),
    log: path.join(dir, 'build.log'),
  };
}

export interface BuildMarker {
  markerVersion: number;
  release: string;
  commit: string;
  flavour: string;
  /** Tool paths relative to the cache directory, e.g. "bin/llama-quantize". */
  tools: Record<LlamaToolName, string>;
  cmakeFlags: string[];
  generator: string;
  builtAt: string;
}

export interface MarkerExpectation {
  release: string;
  commit: string;
  flavour: string;
}

export type MarkerCheck = { ok: true; marker: BuildMarker; tools: Record<LlamaToolName, string> } | { ok: false; reason: string };

/** Checks that the cache directory holds a finished build of the expected source. */
export async function checkBuildMarker(layout: CacheLayout, expect: MarkerExpectation): Promise<MarkerCheck> {
  let text: string;
  try {
    text = await readFile(layout.marker, 'utf8');
  } catch {
    const started = await exists(layout.dir);
    return { ok: false, reason: started ? `incomplete build in ${layout.dir} (no ${MARKER_FILE})` : `not built (${layout.dir})` };
  }
  const marker = parseMarker(text);
  if (!marker) return { ok: false, reason: `unreadable build marker ${layout.marker}` };
  if (marker.release !== expect.release) return { ok: false, reason: `cache holds release ${marker.release}, expected ${expect.release}` };
  if (marker.commit !== expect.commit)
    return { ok: false, reason: `cache was built from commit ${marker.commit}, expected ${expect.commit}` };
  if (marker.flavour !== expect.flavour) return { ok: false, reason: `cache holds flavour ${marker.flavour}, expected ${expect.flavour}` };
  const tools = {} as Record<LlamaToolName, string>;
  for (const tool of LLAMA_TOOLS) {
    const p = path.resolve(layout.dir, marker.tools[tool]);
    if (!(await exists(p, constants.X_OK))) return { ok: false, reason: `${tool} is missing or not executable: ${p}` };
    tools[tool] = p;
  }
  return { ok: true, marker, tools };
}

function parseMarker(text: string): BuildMarker | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const m = value as Partial<Record<keyof BuildMarker, unknown>>;
  const strings = [m.release, m.commit, m.flavour, m.generator, m.builtAt];
  if (m.markerVersion !== MARKER_VERSION || strings.some((s) => typeof s !== 'string')) return null;
  if (!Array.isArray(m.cmakeFlags) || typeof m.tools !== 'object' || m.tools === null) return null;
  const tools = m.tools as Record<string, unknown>;
  if (LLAMA_TOOLS.some((t) => typeof tools[t] !== 'string')) return null;
  return value as BuildMarker;
}

/** The marker's tool table for binaries installed in `layout.bin`. */
export function markerToolPaths(layout: CacheLayout, platform: NodeJS.Platform = process.platform): Record<LlamaToolName, string> {
  const tools = {} as Record<LlamaToolName, string>;
  for (const tool of LLAMA_TOOLS) tools[tool] = path.relative(layout.dir, path.join(layout.bin, toolFileName(tool, platform)));
  return tools;
}

/** Writes the marker under a temporary name and renames it: it appears whole or not at all. */
export async function writeBuildMarker(layout: CacheLayout, marker: BuildMarker): Promise<void> {
  await writeAtomically(layout.marker, (tmp) => writeFile(tmp, `${JSON.stringify(marker, null, 2)}\n`));
}

async function exists(p: string, mode: number = constants.F_OK): Promise<boolean> {
  try {
    await access(p, mode);
    return true;
  } catch {
    return false;
  }
}
