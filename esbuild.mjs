// Builds every bundle of the package: the extension (host side), the CLI, the worker (language
// server), the model host (the child process that runs models) and the webviews. `--watch`
// rebuilds on change, `--production` minifies without sourcemaps. The CLI, the server and the
// model host are bundled WITHOUT a `vscode` external, so an accidental import of 'vscode' from
// core code fails the build instead of failing at run time.
import * as esbuild from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

/** Native or ESM-only packages that must be loaded from node_modules at run time. */
const runtimeExternals = ['node-llama-cpp'];

const common = {
  bundle: true,
  // jsonc-parser's UMD build requires its parts dynamically, which a bundle cannot follow: use its ES build.
  alias: { 'jsonc-parser': './node_modules/jsonc-parser/lib/esm/main.js' },
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  legalComments: 'none',
};

const nodeTargets = [
  {
    entryPoints: ['src/extension/extension.ts'],
    outfile: 'dist/extension.js',
    external: ['vscode', ...runtimeExternals],
    // The first statement of the bundle: activation time is measured from here (see extension.ts).
    banner: { js: 'globalThis.__pajamasLoadStart = { wall: performance.now(), cpu: process.cpuUsage() };' },
  },
  { entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', external: runtimeExternals },
  { entryPoints: ['src/server/server.ts'], outfile: 'dist/server.js', external: runtimeExternals },
  // The process that loads models (node-llama-cpp): a native abort there spares its parent.
  { entryPoints: ['src/model-host/main.ts'], outfile: 'dist/model-host.js', external: runtimeExternals },
].filter((t) => existsSync(t.entryPoints[0]));

const webviewEntries = existsSync('webview-ui')
  ? readdirSync('webview-ui')
      .filter((f) => /^[a-z0-9-]+\.ts$/.test(f))
      .map((f) => path.join('webview-ui', f))
  : [];

const configs = [
  ...nodeTargets.map((t) => ({ ...common, ...t, platform: 'node', format: 'cjs', target: 'node20' })),
  ...(webviewEntries.length
    ? [{ ...common, entryPoints: webviewEntries, outdir: 'dist/webview', platform: 'browser', format: 'iife', target: 'es2022' }]
    : []),
];

/** The codicon font the webviews' components draw their icons with (loaded by renderHtml). */
function copyCodicons() {
  mkdirSync('dist/webview', { recursive: true });
  for (const f of ['codicon.css', 'codicon.ttf'])
    copyFileSync(path.join('node_modules/@vscode/codicons/dist', f), path.join('dist/webview', f));
}
if (webviewEntries.length) copyCodicons();

if (watch) {
  const contexts = await Promise.all(configs.map((c) => esbuild.context(c)));
  await Promise.all(contexts.map((c) => c.watch()));
  console.log(`watching ${configs.length} bundles`);
} else {
  await Promise.all(configs.map((c) => esbuild.build(c)));
}
