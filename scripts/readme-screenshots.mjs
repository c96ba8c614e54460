#!/usr/bin/env node
// `npm run screenshots`: copies the README's screenshots from the last VS Code suite run
// (test-output/vscode/, written by test/vscode/harness/ui-steps-strategy.mjs) to docs/screenshots/.
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SHOTS = ['pajamas-view-artifacts.png', 'strategy-plan.png', 'strategy-results.png'];
const from = path.join(ROOT, 'test-output', 'vscode');
const to = path.join(ROOT, 'docs', 'screenshots');
mkdirSync(to, { recursive: true });
const missing = SHOTS.filter((f) => !existsSync(path.join(from, f)));
if (missing.length) {
  console.error(`no ${missing.join(', ')} in ${from}: run the VS Code suite first (npm run test:vscode)`);
  process.exit(1);
}
for (const f of SHOTS) copyFileSync(path.join(from, f), path.join(to, f));
console.log(`copied ${SHOTS.length} screenshots to ${path.relative(ROOT, to)}/`);
