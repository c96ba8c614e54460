/**
 * Builds the llama.cpp tools from node-llama-cpp's bundled source into the cache: clone the bundle,
 * configure with cmake (Ninja when present, else make), build only the tool targets, copy the
 * binaries (and llama.cpp's MIT LICENSE) to `bin/`, and write the completion marker last. The
 * whole sequence runs under the cache lock; a rerun after an interruption reuses the clone and
 * the build tree (ninja resumes) but never the old binaries.
 */
import { SOURCE_PATCHES, patchesHash } from './patches';
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FailureError, type Remedy, ToolError, throwIfCancelled } from '../errors';
import { removeStaleTemps, writeDirectoryAtomically } from '../fs/atomic';
import type { JobOptions } from '../job';
import {
  type CacheLayout,
  type LlamaBuildSettings,
  MARKER_VERSION,
  buildFlavour,
  checkBuildMarker,
  cmakeFlags,
  markerToolPaths,
  writeBuildMarker,
} from './cache';
import { acquireLock } from './lock';
import { runProcess, spawnCollect, toolErrorFor } from './process';
import { parseBuildProgress, shortStepDescription } from './progress';
import type { LlamaSource } from './source';
import { LLAMA_TOOLS, type LlamaToolName, toolFileName } from './tools';

type Env = Record<string, string | undefined>;

export interface BuildPrerequisites {
  git: string;
  cmake: string;
  cxx: string;
  generator: 'Ninja' | 'Unix Makefiles';
}

/** Finds an executable on PATH the way a shell would (no dependency on `which`). */
export function findExecutable(name: string, env: Env = process.env, platform: NodeJS.Platform = process.platform): string | null {
  if (name.includes('/') || (platform === 'win32' && name.includes('\\'))) return existsSync(name) ? name : null;
  const exts = platform === 'win32' ? (env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';') : [''];
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    for (const ext of exts) {
      const p = path.join(dir, name + ext);
      if (existsSync(p)) return p;
    }
  }
  return null;
}

export function installHint(platform: NodeJS.Platform = process.platform): string {
  if (platform === 'darwin')
    return 'install the Xcode Command Line Tools (xcode-select --install) for the compiler and git, and cmake (brew install cmake ninja)';
  if (platform === 'win32') return 'install Visual Studio Build Tools (C++), CMake and Git for Windows';
  return 'on Debian/Ubuntu: sudo apt-get install cmake ninja-build g++ git (Fedora: sudo dnf install cmake ninja-build gcc-c++ git)';
}

/** Checks for git, cmake, a C++ compiler and a build tool; names every missing one and how to install it. */
export function checkBuildPrerequisites(env: Env = process.env, platform: NodeJS.Platform = process.platform): BuildPrerequisites {
  const git = findExecutable('git', env, platform);
  const cmake = findExecutable('cmake', env, platform);
  const cxxCandidates = env.CXX ? [env.CXX.split(/\s+/)[0]!] : platform === 'win32' ? ['cl', 'clang++', 'g++'] : ['c++', 'g++', 'clang++'];
  const cxx = cxxCandidates.map((c) => findExecutable(c, env, platform)).find((p) => p !== null) ?? null;
  const ninja = findExecutable('ninja', env, platform) ?? findExecutable('ninja-build', env, platform);
  const make = platform === 'win32' ? null : findExecutable('make', env, platform);
  const missing: string[] = [];
  if (!cmake) missing.push('cmake');
  if (!cxx) missing.push(env.CXX ? `the C++ compiler CXX=${env.CXX}` : 'a C++ compiler (c++, g++ or clang++)');
  if (!git) missing.push('git');
  if (!ninja && !make) missing.push('ninja or make');
  if (missing.length || !git || !cmake || !cxx) {
    throw new FailureError(
      `building the llama.cpp tools needs ${missing.join(', ')}, which ${missing.length > 1 ? 'are' : 'is'} not installed; ` +
        `${installHint(platform)}. Or use existing llama.cpp binaries (PAJAMAS_LLAMA_BIN_DIR names their folder).`,
      { missing, remedies: [{ option: 'llamaBinDir' }] satisfies Remedy[] },
    );
  }
  return { git, cmake, cxx, generator: ninja ? 'Ninja' : 'Unix Makefiles' };
}

export interface BuildOptions extends JobOptions {
  /** Rebuild even when the cache holds a complete build. */
  force?: boolean;
  /** false: fail instead of waiting when another process is building. */
  wait?: boolean;
  /** Parallel compile jobs; default PAJAMAS_LLAMA_BUILD_JOBS or every core. */
  jobs?: number;
}

export interface BuildResult {
  tools: Record<LlamaToolName, string>;
  /** false when another process (or an earlier run) had already built it. */
  built: boolean;
}

const STEP = 'build llama.cpp';

/** Builds into `layout` unless it already holds a complete build of `source`. */
export async function buildLlamaTools(
  source: LlamaSource,
  settings: LlamaBuildSettings,
  layout: CacheLayout,
  opts: BuildOptions = {},
): Promise<BuildResult> {
  const flavour = buildFlavour(settings);
  const expect = { release: source.release, commit: source.commit, flavour };
  await mkdir(path.dirname(layout.lock), { recursive: true });
  const release = await acquireLock(layout.lock, {
    signal: opts.signal,
    wait: opts.wait,
    purpose: `build llama.cpp ${source.release}`,
    onWait: (owner) => opts.log?.(`waiting for another llama.cpp build (process ${owner?.pid ?? '?'}) to finish...`),
  });
  try {
    const existing = await checkBuildMarker(layout, expect);
    if (existing.ok && !opts.force) return { tools: existing.tools, built: false };
    const prereq = checkBuildPrerequisites();
    // From here on the directory is "incomplete" until the marker is written again.
    await rm(layout.marker, { force: true });
    await mkdir(layout.dir, { recursive: true });
    await removeStaleTemps(layout.dir); // a clone or an install cut short by a killed build
    const flags = cmakeFlags(settings);
    opts.log?.(
      `building llama.cpp ${source.release} (${flavour}) in ${layout.dir}; this happens once per machine (about 10 minutes on 2 cores)`,
    );
    const logStream = createWriteStream(layout.log, { flags: 'w' });
    try {
      await cloneSource(source, layout, prereq, logStream, opts);
      await configure(layout, prereq, flags, logStream, opts);
      await compile(layout, prereq, logStream, opts);
    } finally {
      await new Promise<void>((resolve) => logStream.end(resolve));
    }
    await installBinaries(layout);
    await writeBuildMarker(layout, {
      markerVersion: MARKER_VERSION,
      release: source.release,
      commit: source.commit,
      flavour,
      tools: markerToolPaths(layout),
      cmakeFlags: flags,
      generator: prereq.generator,
      builtAt: new Date().toISOString(),
    });
    const done = await checkBuildMarker(layout, expect);
    if (!done.ok) throw new FailureError(`the llama.cpp build finished but the cache is not usable: ${done.reason}`);
    return { tools: done.tools, built: true };
  } finally {
    await release();
  }
}

function logTo(stream: WriteStream, extra?: (line: string) => void): (line: string) => void {
  return (line) => {
    stream.write(`${line}\n`);
    extra?.(line);
  };
}

/** Marks a source tree as holding the current patch set. */
const PATCH_STAMP = '.pajamas-patches';

async function cloneSource(
  source: LlamaSource,
  layout: CacheLayout,
  prereq: BuildPrerequisites,
  log: WriteStream,
  opts: BuildOptions,
): Promise<void> {
  if (existsSync(layout.src)) {
    const head = await runProcess('git', prereq.git, ['-C', layout.src, 'rev-parse', 'HEAD'], { signal: opts.signal }).then(
      (o) => o.stdout.trim(),
      () => '',
    );
    const stamp = await readFile(path.join(layout.src, PATCH_STAMP), 'utf8').catch(() => '');
    if (head === source.commit && stamp === patchesHash()) return;
    await rm(layout.src, { recursive: true, force: true });
  }
  opts.onProgress?.({ step: STEP, message: 'cloning the source from node-llama-cpp' });
  const line = logTo(log);
  await writeDirectoryAtomically(layout.src, (partial) => clonePatched(source, partial, prereq, line, opts.signal));
}

/** Clones the bundled source into the empty folder `partial` and applies the patch set. */
async function clonePatched(
  source: LlamaSource,
  partial: string,
  prereq: BuildPrerequisites,
  line: (text: string) => void,
  signal: AbortSignal | undefined,
): Promise<void> {
  await runProcess('git', prereq.git, ['-c', 'advice.detachedHead=false', 'clone', '--quiet', source.bundlePath, partial], {
    signal,
    onStdoutLine: line,
    onStderrLine: line,
  });
  await runProcess(
    'git',
    prereq.git,
    ['-C', partial, '-c', 'advice.detachedHead=false', 'checkout', '--quiet', '--detach', source.commit],
    { signal, onStderrLine: line },
  );
  for (const patch of SOURCE_PATCHES) {
    const file = path.join(partial, `.pajamas-${patch.name}.patch`);
    await writeFile(file, patch.diff);
    line(`applying ${patch.name}: ${patch.why}`);
    await runProcess('git', prereq.git, ['-C', partial, 'apply', '--whitespace=nowarn', file], { signal, onStderrLine: line });
    await rm(file);
  }
  await writeFile(path.join(partial, PATCH_STAMP), patchesHash());
}

const CONFIGURE_STAMP = 'pajamas-configure.json';

async function configure(
  layout: CacheLayout,
  prereq: BuildPrerequisites,
  flags: string[],
  log: WriteStream,
  opts: BuildOptions,
): Promise<void> {
  throwIfCancelled(opts.signal);
  const stampPath = path.join(layout.build, CONFIGURE_STAMP);
  const stamp = JSON.stringify({ generator: prereq.generator, flags, src: layout.src });
  const previous = await readFile(stampPath, 'utf8').catch(() => null);
  // A build tree configured differently (or by someone else) cannot be resumed: start it over.
  if (previous !== stamp) await rm(layout.build, { recursive: true, force: true });
  opts.onProgress?.({ step: STEP, message: `configuring (cmake, ${prereq.generator})` });
  const line = logTo(log);
  const args = ['-S', layout.src, '-B', layout.build, '-G', prereq.generator, ...flags];
  await runProcess('cmake', prereq.cmake, args, { signal: opts.signal, onStdoutLine: line, onStderrLine: line, env: { CXX: prereq.cxx } });
  await writeFile(stampPath, stamp);
}

export function buildJobs(opts: BuildOptions, env: Env = process.env): number {
  const fromEnv = Number(env.PAJAMAS_LLAMA_BUILD_JOBS);
  const jobs = opts.jobs ?? (Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : os.availableParallelism());
  return Math.max(1, Math.floor(jobs));
}

async function compile(layout: CacheLayout, prereq: BuildPrerequisites, log: WriteStream, opts: BuildOptions): Promise<void> {
  const jobs = buildJobs(opts);
  const args = ['--build', layout.build, '--config', 'Release', '--parallel', String(jobs), '--target', ...LLAMA_TOOLS];
  const onLine = logTo(log, (line) => {
    const step = parseBuildProgress(line);
    if (step)
      opts.onProgress?.({ step: STEP, done: step.done, total: step.total, unit: 'steps', message: shortStepDescription(step.description) });
  });
  opts.onProgress?.({ step: STEP, message: `compiling with ${jobs} job${jobs > 1 ? 's' : ''}` });
  const outcome = await spawnCollect(prereq.cmake, args, {
    signal: opts.signal,
    onStdoutLine: onLine,
    onStderrLine: logTo(log),
    tailFrom: 'combined',
  });
  if (outcome.exitCode !== 0) {
    const how = toolErrorFor('cmake', prereq.cmake, args, outcome).message.split('\n')[0];
    throw new ToolError('cmake', outcome.exitCode, outcome.outputTail, `compiling llama.cpp failed (${how}); full log: ${layout.log}`);
  }
}

async function installBinaries(layout: CacheLayout): Promise<void> {
  await writeDirectoryAtomically(layout.bin, async (partial) => {
    for (const tool of LLAMA_TOOLS) {
      const built = path.join(layout.build, 'bin', toolFileName(tool));
      if (!existsSync(built)) throw new FailureError(`the build did not produce ${built}; see ${layout.log}`);
      const target = path.join(partial, toolFileName(tool));
      await copyFile(built, target);
      await chmod(target, 0o755);
    }
    // llama.cpp is MIT licensed: its licence travels with the binaries.
    await copyFile(path.join(layout.src, 'LICENSE'), path.join(partial, 'LICENSE-llama.cpp'));
  });
}
