#!/usr/bin/env node
// `npm run bench`: runs the benchmarks in scripts/bench/ one after another (each prints its own
// figures). `npm run bench -- convert --gb 4` runs one benchmark with its own arguments.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';

const dir = path.join(path.dirname(new URL(import.meta.url).pathname), 'bench');
const available = readdirSync(dir)
  .filter((f) => f.endsWith('.mjs'))
  .map((f) => f.slice(0, -4))
  .sort();
const [name, ...rest] = process.argv.slice(2);
if (name && !available.includes(name)) {
  console.error(`unknown benchmark "${name}"; available: ${available.join(', ')}`);
  process.exit(2);
}
let failed = 0;
for (const bench of name ? [name] : available) {
  console.log(`\n=== bench ${bench}`);
  const r = spawnSync(process.execPath, [path.join(dir, `${bench}.mjs`), ...(name ? rest : [])], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
