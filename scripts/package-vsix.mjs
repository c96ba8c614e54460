#!/usr/bin/env node
// `npm run package`: a platform VSIX that works once installed, with no compiler and no npm:
//   - the production bundles (dist/), media/, data/, bin/ and the manifest, readme and licence;
//   - node-llama-cpp and the packages it needs at run time, with only the target's CPU binaries
//     (@node-llama-cpp/<target>; the CUDA and Vulkan variants and other platforms stay out);
//   - the llama.cpp tools built portably (GGML_NATIVE=OFF, no OpenMP runtime to depend on) from the
//     same source node-llama-cpp ships, in tools/<target>/, when the target is this machine.
// A VSIX for a target whose tools cannot be built here keeps node-llama-cpp's llama.cpp source
// instead, and the extension builds the tools on first use. Everything is staged in .vsix-stage/
// (dependencies copied from node_modules) and packed there by vsce.
// Usage: node scripts/package-vsix.mjs [--target linux-x64] [--out <file.vsix>] [--no-tools | --tools-dir <dir>]
//        (--tools-dir, default PAJAMAS_VSIX_TOOLS_DIR: ship the llama.cpp binaries of that folder instead of
//        the portable build, e.g. tools built on another machine; the VSIX then runs where they run)
//        node scripts/package-vsix.mjs --tools-only   (build the portable tools into the cache, nothing else)
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dependencyClosure } from './vsix/dependencies.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const here = `${process.platform}-${process.arch}`;
const target = option('--target', here);
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const out = path.resolve(option('--out', path.join(ROOT, `${pkg.name}-${target}-${pkg.version}.vsix`)));
const stage = path.join(ROOT, '.vsix-stage', target);
/** Packages the bundles load at run time (esbuild's externals); everything else is inside dist/. */
const RUNTIME_PACKAGES = ['node-llama-cpp'];
/** How the shipped tools are built: portable, and without libgomp (not every machine has it). */
const PORTABLE_TOOLS_ENV = { PAJAMAS_LLAMA_NATIVE: '0', PAJAMAS_LLAMA_CMAKE_ARGS: '-DGGML_OPENMP=OFF' };
/** Files of dependencies no one loads at run time. */
const PRUNED = /\.(map|d\.ts|d\.cts|d\.mts|md|markdown)$|^(CHANGELOG|HISTORY)/i;

const step = (line) => console.log(`[package] ${line}`);

function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { cwd: ROOT, stdio: 'inherit', ...opts, env: { ...process.env, ...opts.env } });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed (${r.signal ?? `exit ${r.status}`})`);
  return r;
}

/** The portable tools for this machine (built once into the cache, about 10 minutes on 2 cores). */
function portableTools() {
  step('llama.cpp tools: portable build (built once per machine into the cache)');
  // Not the runtime's binding: the VSIX runs node-llama-cpp's prebuilt one, portable already.
  run(process.execPath, ['bin/pajamas.js', 'tools', '--build', '--no-binding'], { env: PORTABLE_TOOLS_ENV });
  const r = spawnSync(process.execPath, ['bin/pajamas.js', 'tools', '--json'], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...PORTABLE_TOOLS_ENV },
  });
  if (r.status !== 0) throw new Error(`pajamas tools --json failed:\n${r.stderr}`);
  const tools = JSON.parse(r.stdout);
  if (!tools.binDir || !String(tools.flavour ?? tools.binDir).includes('portable'))
    throw new Error(`expected the portable build, got ${r.stdout}`);
  return tools.binDir;
}

function copyFiltered(from, to) {
  cpSync(from, to, {
    recursive: true,
    dereference: true,
    filter: (src) => !PRUNED.test(path.basename(src)) || statSync(src).isDirectory(),
  });
}

/** The staged package.json: the extension manifest with only the run-time dependencies, no scripts. */
function stagedManifest() {
  const { scripts: _scripts, devDependencies: _dev, dependencies, ...rest } = pkg;
  return { ...rest, dependencies: Object.fromEntries(RUNTIME_PACKAGES.map((name) => [name, dependencies[name]])) };
}

function stageFiles(shipTools) {
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  for (const item of ['media', 'data', 'bin', 'README.md', 'LICENSE'])
    cpSync(path.join(ROOT, item), path.join(stage, item), { recursive: true });
  mkdirSync(path.join(stage, 'dist', 'webview'), { recursive: true });
  for (const f of readdirSync(path.join(ROOT, 'dist')))
    if (f.endsWith('.js')) cpSync(path.join(ROOT, 'dist', f), path.join(stage, 'dist', f));
  for (const f of readdirSync(path.join(ROOT, 'dist', 'webview')))
    if (!f.endsWith('.map')) cpSync(path.join(ROOT, 'dist', 'webview', f), path.join(stage, 'dist', 'webview', f));

  const closure = dependencyClosure(ROOT, RUNTIME_PACKAGES, { target });
  for (const dir of closure) copyFiltered(path.join(ROOT, dir), path.join(stage, dir));
  if (shipTools) {
    const given = option('--tools-dir', process.env.PAJAMAS_VSIX_TOOLS_DIR);
    if (given) step(`llama.cpp tools: shipping ${given} as given (not the portable build)`);
    const bin = given ? path.resolve(given) : portableTools();
    if (!existsSync(path.join(bin, process.platform === 'win32' ? 'llama-quantize.exe' : 'llama-quantize')))
      throw new Error(`no llama-quantize in ${bin}`);
    cpSync(bin, path.join(stage, 'tools', target), { recursive: true });
    // The tools replace the source they are built from; 34 MB the extension will never read.
    rmSync(path.join(stage, 'node_modules', 'node-llama-cpp', 'llama', 'gitRelease.bundle'), { force: true });
  }
  writeFileSync(path.join(stage, 'package.json'), `${JSON.stringify(stagedManifest(), null, 2)}\n`);
  cpSync(path.join(ROOT, '.vscodeignore'), path.join(stage, '.vscodeignore'));
  step(`staged ${closure.length} packages${shipTools ? ` and the tools for ${target}` : ''} in ${path.relative(ROOT, stage)}`);
}

function main() {
  if (args.includes('--tools-only')) {
    step(`portable tools in ${portableTools()}`);
    return;
  }
  const shipTools = !args.includes('--no-tools') && target === here;
  if (target !== here && !args.includes('--no-tools'))
    step(`${target} is not this machine (${here}): no prebuilt tools; they build on first use`);
  step('production bundles');
  run(process.execPath, ['esbuild.mjs', '--production']);
  stageFiles(shipTools);
  const vsce = path.join(ROOT, 'node_modules', '.bin', 'vsce');
  // The README's screenshots are in the repository, not the VSIX: its relative links stay as they are.
  run(vsce, ['package', '--target', target, '--out', out, '--allow-missing-repository', '--no-rewrite-relative-links'], { cwd: stage });
  const size = statSync(out).size;
  step(`${path.relative(process.cwd(), out)}: ${(size / 1024 / 1024).toFixed(1)} MiB`);
  if (!existsSync(out)) throw new Error('vsce wrote no file');
}

try {
  main();
} catch (e) {
  console.error(`package: ${e.message}`);
  process.exit(1);
}
