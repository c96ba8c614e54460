// The installed-VSIX test's setting: the VSIX built as `npm run package` builds it, a PATH on which
// no build tool can be found (cmake, a compiler, make, ninja, git), and a workspace outside the
// repository, so nothing the extension finds comes from the project's node_modules or toolchain.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import path from 'node:path';

/** What a user without a toolchain does not have. */
export const BUILD_TOOLS = [
  'cmake',
  'cmake3',
  'ninja',
  'ninja-build',
  'make',
  'gmake',
  'cc',
  'c++',
  'gcc',
  'g++',
  'clang',
  'clang++',
  'git',
];
const COMPILER_NAME = /^(x86_64|aarch64|arm|i686)-.*-(gcc|g\+\+|cc|c\+\+)(-\d+)?$|^(gcc|g\+\+|clang|clang\+\+|cpp)-\d+$/;

/** Builds the VSIX into `out` with scripts/package-vsix.mjs; returns its path. */
export function buildVsix(root, out, log) {
  log(`packaging the VSIX (npm run package) into ${out}`);
  const given = process.env.PAJAMAS_VSIX_TOOLS_DIR;
  if (given) log(`PAJAMAS_VSIX_TOOLS_DIR: the VSIX ships ${given} instead of the portable tools (not what a release ships)`);
  const r = spawnSync(process.execPath, ['scripts/package-vsix.mjs', '--out', out], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0 || !existsSync(out)) throw new Error(`scripts/package-vsix.mjs failed (${r.signal ?? `exit ${r.status}`})`);
  // The figure the closing note reports, in the suites' FIGURE format.
  console.log(`FIGURE VSIX size: ${(statSync(out).size / 1024 / 1024).toFixed(1)} MiB (${path.basename(out)}, linux-x64 with tools)`);
  return out;
}

/**
 * A folder of links to every program on the current PATH except the build tools, to use as the
 * whole PATH: code-server and node still start, cmake and compilers cannot be found.
 */
export function pathWithoutBuildTools(dir) {
  mkdirSync(dir, { recursive: true });
  for (const entry of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    let names;
    try {
      names = readdirSync(entry);
    } catch {
      continue;
    }
    for (const name of names) {
      if (BUILD_TOOLS.includes(name) || COMPILER_NAME.test(name) || existsSync(path.join(dir, name))) continue;
      const file = path.join(entry, name);
      try {
        accessSync(file, constants.X_OK);
        if (statSync(file).isDirectory()) continue;
        symlinkSync(file, path.join(dir, name));
      } catch {
        // not an executable file
      }
    }
  }
  const found = BUILD_TOOLS.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`], { env: { PATH: dir } }).status === 0);
  if (found.length) throw new Error(`the stripped PATH still finds ${found.join(', ')}`);
  return dir;
}

/** The node_modules folders Node's resolution would search from `dir` upwards (none may exist but the extension's own). */
export function ancestorNodeModules(dir) {
  const found = [];
  for (let d = path.dirname(path.resolve(dir)); ; d = path.dirname(d)) {
    if (existsSync(path.join(d, 'node_modules'))) found.push(path.join(d, 'node_modules'));
    if (path.dirname(d) === d) return found;
  }
}

/**
 * Phase (c) of the VS Code suite: package the VSIX, install it into a fresh code-server profile
 * whose PATH has no build tools and whose caches are empty, open a workspace outside the
 * repository, and drive it like a user (quantize, verify). Then check from outside that the
 * manifest verifies and that nothing was built. Returns {passed, failed}.
 */
export async function runVsixPhase({ root, bin, scratch, shotsDir, log, startCodeServer, launchBrowser, workbenchUrl, runUiTests, steps }) {
  const { copySharedModels, sharedRoot } = await import('./fixtures.mjs');
  const home = path.join(scratch, 'vsix');
  const ws = path.join(home, 'ws');
  mkdirSync(ws, { recursive: true });
  if (!copySharedModels(ws, sharedRoot(root)).includes('models/stories-hf')) {
    const message = 'the installed-VSIX test needs ../shared/models/stories260K-hf';
    if (process.env.PAJAMAS_REQUIRE_SHARED === '1') throw new Error(`${message}; PAJAMAS_REQUIRE_SHARED=1 makes this a failure`);
    log(`(c) SKIPPED: ${message}`);
    return { passed: 0, failed: 0 };
  }
  const vsix = buildVsix(root, path.join(home, 'llama-pajamas.vsix'), log);
  const cache = path.join(home, 'empty-cache');
  mkdirSync(cache);
  const env = {
    PATH: pathWithoutBuildTools(path.join(home, 'path-bin')),
    PAJAMAS_CACHE_DIR: cache,
    // Nothing from the developer's setup: the extension must find everything in itself.
    NODE_PATH: undefined,
    PAJAMAS_LLAMA_BIN_DIR: undefined,
    PAJAMAS_LLAMA_NATIVE: undefined,
    PAJAMAS_LLAMA_CMAKE_ARGS: undefined,
    PAJAMAS_VSIX_TOOLS_DIR: undefined,
  };
  const server = await startCodeServer(bin, path.join(home, 'server'), { vsix, env, cwd: home });
  log(`(c) code-server with the installed VSIX on ${server.url}; PATH without ${BUILD_TOOLS.slice(0, 4).join(', ')}...`);
  const browser = await launchBrowser(path.join(home, 'chromium'));
  let ui;
  try {
    const url = await workbenchUrl(server.url, { folder: ws });
    ui = await Promise.race([runUiTests(browser, url, { shotsDir, log, steps, readyRow: 'models' }), server.crashed]);
  } finally {
    await browser.close().catch(() => {});
    await server.stop();
  }
  const outDir = path.join(ws, 'models', 'stories-hf-pajamas');
  const verify = spawnSync(process.execPath, ['bin/pajamas.js', 'verify', outDir], { cwd: root, encoding: 'utf8' });
  log(`(c) pajamas verify ${outDir}: ${verify.status === 0 ? 'ok' : `FAILED\n${verify.stdout}${verify.stderr}`}`);
  const built = existsSync(path.join(cache, 'llama.cpp'));
  if (built) log('(c) FAIL: the installed extension built llama.cpp instead of using the tools in the VSIX');
  const isolated = installedInIsolation(path.join(home, 'server', 'exts'), log);
  const checks = [verify.status === 0, !built, isolated];
  const passed = checks.filter(Boolean).length;
  return { passed: ui.passed + passed, failed: ui.failed + checks.length - passed };
}

/**
 * The installed extension carries node-llama-cpp and the tools, and no node_modules above it could
 * have lent it anything (Node's resolution walks up from the extension's folder).
 */
function installedInIsolation(extensionsDir, log) {
  const installed = readdirSync(extensionsDir).filter((d) => d.includes('llama-pajamas'));
  if (installed.length !== 1) {
    log(`(c) FAIL: expected one installed llama-pajamas extension in ${extensionsDir}, found ${installed.join(', ') || 'none'}`);
    return false;
  }
  const dir = path.join(extensionsDir, installed[0]);
  const lacking = ['node_modules/node-llama-cpp/package.json', `tools/${process.platform}-${process.arch}`].filter(
    (p) => !existsSync(path.join(dir, p)),
  );
  const above = ancestorNodeModules(dir);
  if (lacking.length) log(`(c) FAIL: the installed extension lacks ${lacking.join(', ')}`);
  if (above.length) log(`(c) FAIL: node_modules above the installed extension could lend it packages: ${above.join(', ')}`);
  if (!lacking.length && !above.length) log(`(c) installed in ${dir}: its own node-llama-cpp and tools, no node_modules above it`);
  return !lacking.length && !above.length;
}
