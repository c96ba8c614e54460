// Builds every bundle of the package: the extension (host side), the CLI, the worker (language
// server), the model host (the child process that runs models) and the webviews. `--watch`
// rebuilds on change, `--production` minifies without sourcemaps. The CLI, the server and the
// model host are bundled WITHOUT a `vscode` external, so an accidental import of 'vscode' from
// core code fails the build instead of failing at run time.
import * as esbuild from 'esbuild';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

/** Native or ESM-only packages that must be loaded from node_modules at run time. */
const runtimeExternals = ['node-llama-cpp'];

const common = {
  bundle: true,
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  legalComments: 'none',
};

const nodeTargets = [
  { entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js', external: ['vscode', ...runtimeExternals] },
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

if (watch) {
  const contexts = await Promise.all(configs.map((c) => esbuild.context(c)));
  await Promise.all(contexts.map((c) => c.watch()));
  console.log(`watching ${configs.length} bundles`);
} else {
  await Promise.all(configs.map((c) => esbuild.build(c)));
}
