/**
 * Builds node-llama-cpp's binding (llama-addon.node) from the same llama.cpp source tree, with the
 * same cmake flags, as the llama.cpp tools (build.ts), so run, chat and the tools are one llama.cpp
 * build: tuned for this CPU (GGML_NATIVE, OpenMP) where the prebuilt binding is portable. It lives
 * in the tools' cache folder, `binding-<node-llama-cpp version>-p<patch hash>/`, with a marker
 * written last; it is built after the tools, under the same lock. Needs the Node.js headers
 * (node_api.h, part of every Node.js install from nodejs.org and of Debian's nodejs package) and
 * node-addon-api (a dependency of node-llama-cpp). Not on Windows, where an addon also needs
 * node.lib: there the prebuilt binding runs.
 */
import { createWriteStream, existsSync } from 'node:fs';
import { cp, mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FailureError } from '../errors';
import { applyBindingPatches, BINDING_PATCHES, bindingPatchesHash } from './binding-patches';
import { type BuildOptions, buildJobs, buildLlamaTools, checkBuildPrerequisites } from './build';
import { type CacheLayout, type LlamaBuildSettingsOptions, buildFlavour, cacheLayout, cmakeFlags, resolveBuildSettings } from './cache';
import { acquireLock } from './lock';
import { runProcess } from './process';
import { parseBuildProgress, shortStepDescription } from './progress';
import { findBundlePath, findLlamaSource } from './source';

export const BINDING_FILE = 'llama-addon.node';
const STEP = 'build the llama.cpp binding';
const MARKER_FILE = 'complete.json';
const BINDING_MARKER_VERSION = 1;
/** The parts of node-llama-cpp's llama/ folder that make up the binding's cmake project. */
const PROJECT_PARTS = ['CMakeLists.txt', 'addon', 'cmake'];

export interface BindingLayout {
  dir: string;
  src: string;
  build: string;
  file: string;
  marker: string;
  log: string;
}

interface BindingMarker {
  markerVersion: number;
  nodeLlamaCpp: string;
  release: string;
  commit: string;
  flavour: string;
  patches: string;
  /** The GPU backend compiled in (the tools' settings decide), or false for CPU only. */
  gpu: 'cuda' | false;
  builtAt: string;
}

export type LocalBindingStatus = { ready: true; path: string; gpu: 'cuda' | false } | { ready: false; reason: string };

interface BindingContext {
  tools: CacheLayout;
  binding: BindingLayout;
  expect: Omit<BindingMarker, 'builtAt' | 'markerVersion'>;
  nodeLlamaDir: string;
}

async function bindingContext(opts: LlamaBuildSettingsOptions & { packageRoot?: string } = {}): Promise<BindingContext> {
  const source = await findLlamaSource(opts.packageRoot);
  const settings = resolveBuildSettings(opts);
  const flavour = buildFlavour(settings);
  const tools = cacheLayout(settings.root, source.release, flavour);
  const nodeLlamaDir = path.dirname(path.dirname(source.bundlePath));
  const version = (JSON.parse(await readFile(path.join(nodeLlamaDir, 'package.json'), 'utf8')) as { version: string }).version;
  const patches = bindingPatchesHash();
  const dir = path.join(tools.dir, `binding-${version}-p${patches}`);
  return {
    tools,
    nodeLlamaDir,
    binding: {
      dir,
      src: path.join(dir, 'src'),
      build: path.join(dir, 'build'),
      file: path.join(dir, BINDING_FILE),
      marker: path.join(dir, MARKER_FILE),
      log: path.join(dir, 'build.log'),
    },
    expect: {
      nodeLlamaCpp: version,
      release: source.release,
      commit: source.commit,
      flavour,
      patches,
      gpu: settings.cudaCompiler ? 'cuda' : false,
    },
  };
}

/** Whether a complete binding for the current source, flags and patches is in the cache. Never builds. */
export async function localBindingStatus(opts: LlamaBuildSettingsOptions & { packageRoot?: string } = {}): Promise<LocalBindingStatus> {
  if (process.platform === 'win32') return { ready: false, reason: 'the binding is not built from source on Windows' };
  if (!findBundlePath(opts.packageRoot)) return { ready: false, reason: 'node-llama-cpp is not installed' };
  const ctx = await bindingContext(opts);
  const marker = await readFile(ctx.binding.marker, 'utf8').then(
    (t) => JSON.parse(t) as Partial<BindingMarker>,
    () => null,
  );
  if (!marker) return { ready: false, reason: `not built (run "npm run build:llama"; it goes to ${ctx.binding.dir})` };
  const stale = (Object.keys(ctx.expect) as (keyof BindingContext['expect'])[]).find((k) => marker[k] !== ctx.expect[k]);
  if (stale || marker.markerVersion !== BINDING_MARKER_VERSION) return { ready: false, reason: `${ctx.binding.dir} holds another build` };
  if (!existsSync(ctx.binding.file)) return { ready: false, reason: `${ctx.binding.file} is missing` };
  return { ready: true, path: ctx.binding.file, gpu: ctx.expect.gpu };
}

/** Node.js's C headers (node_api.h): beside this Node.js, else the usual system places. */
export function findNodeHeaders(execPath = process.execPath): string | null {
  const candidates = [path.join(path.dirname(execPath), '..', 'include', 'node'), '/usr/include/node', '/usr/local/include/node'];
  return candidates.map((c) => path.resolve(c)).find((c) => existsSync(path.join(c, 'node_api.h'))) ?? null;
}

export interface BindingBuildOptions extends BuildOptions, LlamaBuildSettingsOptions {
  packageRoot?: string;
}

/** Builds the binding unless the cache holds a complete one (the tools first, when they are missing). */
export async function buildLlamaBinding(opts: BindingBuildOptions = {}): Promise<{ path: string; built: boolean; gpu: 'cuda' | false }> {
  if (process.platform === 'win32') throw new FailureError('building the node-llama-cpp binding from source is not supported on Windows');
  const existing = await localBindingStatus(opts);
  if (existing.ready && !opts.force) return { path: existing.path, built: false, gpu: existing.gpu };
  const source = await findLlamaSource(opts.packageRoot);
  const settings = resolveBuildSettings(opts);
  const ctx = await bindingContext(opts);
  // The tools' build holds the patched source tree the binding compiles.
  await buildLlamaTools(source, settings, ctx.tools, { ...opts, force: false });
  const headers = findNodeHeaders();
  if (!headers)
    throw new FailureError(
      'the Node.js headers (node_api.h) were not found beside Node.js or in /usr/include/node; ' +
        "install Node.js from nodejs.org or your distribution's nodejs package",
    );
  const release = await acquireLock(ctx.tools.lock, { signal: opts.signal, wait: opts.wait, purpose: 'build the node-llama-cpp binding' });
  try {
    await rm(ctx.binding.marker, { force: true });
    await prepareProject(ctx);
    opts.log?.(`building the node-llama-cpp binding (${ctx.expect.flavour}) in ${ctx.binding.dir}; once per machine`);
    const prereq = checkBuildPrerequisites();
    const addonApi = path.dirname(require.resolve('node-addon-api/package.json', { paths: [ctx.nodeLlamaDir] }));
    const flags = [...cmakeFlags(settings), `-DCMAKE_JS_INC=${headers};${addonApi}`];
    // An addon leaves Node's symbols to the process that loads it.
    if (process.platform === 'darwin') flags.push('-DCMAKE_SHARED_LINKER_FLAGS=-undefined dynamic_lookup');
    const log = createWriteStream(ctx.binding.log, { flags: 'w' });
    const onLine = (line: string) => {
      log.write(`${line}\n`);
      const step = parseBuildProgress(line);
      if (step)
        opts.onProgress?.({
          step: STEP,
          done: step.done,
          total: step.total,
          unit: 'steps',
          message: shortStepDescription(step.description),
        });
    };
    const run = (args: string[]) =>
      runProcess('cmake', prereq.cmake, args, {
        signal: opts.signal,
        env: { CXX: prereq.cxx },
        onStdoutLine: onLine,
        onStderrLine: onLine,
      });
    try {
      opts.onProgress?.({ step: STEP, message: `configuring (cmake, ${prereq.generator})` });
      await run(['-S', ctx.binding.src, '-B', ctx.binding.build, '-G', prereq.generator, ...flags]);
      await run(['--build', ctx.binding.build, '--config', 'Release', '--parallel', String(buildJobs(opts)), '--target', 'llama-addon']);
    } finally {
      await new Promise<void>((resolve) => log.end(resolve));
    }
    const built = [path.join(ctx.binding.build, BINDING_FILE), path.join(ctx.binding.build, 'Release', BINDING_FILE)].find(existsSync);
    if (!built) throw new FailureError(`the binding build produced no ${BINDING_FILE} in ${ctx.binding.build}`);
    const partial = `${ctx.binding.file}.partial`;
    await cp(built, partial);
    await rename(partial, ctx.binding.file);
    const marker: BindingMarker = { markerVersion: BINDING_MARKER_VERSION, ...ctx.expect, builtAt: new Date().toISOString() };
    await writeFile(`${ctx.binding.marker}.partial`, `${JSON.stringify(marker, null, 2)}\n`);
    await rename(`${ctx.binding.marker}.partial`, ctx.binding.marker);
    return { path: ctx.binding.file, built: true, gpu: ctx.expect.gpu };
  } finally {
    await release();
  }
}

/** node-llama-cpp's cmake project, patched, next to a link to the tools' llama.cpp source. */
async function prepareProject(ctx: BindingContext): Promise<void> {
  await rm(ctx.binding.src, { recursive: true, force: true });
  await mkdir(ctx.binding.src, { recursive: true });
  await mkdir(ctx.binding.dir, { recursive: true });
  for (const part of PROJECT_PARTS)
    await cp(path.join(ctx.nodeLlamaDir, 'llama', part), path.join(ctx.binding.src, part), { recursive: true });
  for (const file of new Set(BINDING_PATCHES.map((p) => p.file))) {
    const target = path.join(ctx.binding.src, file);
    await writeFile(target, applyBindingPatches(file, await readFile(target, 'utf8')));
  }
  await symlink(ctx.tools.src, path.join(ctx.binding.src, 'llama.cpp'), 'dir');
}
