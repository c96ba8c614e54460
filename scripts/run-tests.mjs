#!/usr/bin/env node
// The test command behind `npm test`: typecheck, build, then the unit, integration and VS Code
// suites, and one summary at the end. `node scripts/run-tests.mjs unit` runs one suite;
// `node scripts/run-tests.mjs unit gguf` runs the unit test files whose path contains "gguf".
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const SUITES = ['unit', 'integration', 'vscode'];
const [suiteArg, filter] = process.argv.slice(2);
if (suiteArg && !SUITES.includes(suiteArg)) {
  console.error(`unknown suite "${suiteArg}"; use one of: ${SUITES.join(', ')}`);
  process.exit(2);
}
const suites = suiteArg ? [suiteArg] : SUITES;
const results = [];

function run(name, command, args, env = {}) {
  const started = Date.now();
  console.log(`\n=== ${name}: ${[command, ...args].join(' ')}`);
  const r = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  results.push({ name, ok: r.status === 0, detail: r.status === null ? `killed by ${r.signal}` : `exit ${r.status}`, seconds });
  return r.status === 0;
}

function testFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const entry of readdirSync(d)) {
      const p = path.join(d, entry);
      if (statSync(p).isDirectory()) walk(p);
      else if (entry.endsWith('.test.ts') && (!filter || p.includes(filter))) out.push(path.relative(root, p));
    }
  };
  walk(path.join(root, dir));
  return out.sort();
}

const nodeTest = (files, concurrency) => [
  '--import',
  'tsx',
  '--test',
  '--test-reporter=spec',
  `--test-concurrency=${concurrency}`,
  ...files,
];

if (!suiteArg) {
  run('typecheck', 'npx', ['tsc', '--noEmit', '-p', '.']);
  run('lint', 'npx', ['eslint', '.']);
  run('format', 'npx', ['prettier', '--check', '.']);
}
run('build', 'node', ['esbuild.mjs']);
for (const suite of suites) {
  if (suite === 'vscode') {
    run('vscode', 'node', ['test/vscode/run.mjs']);
    continue;
  }
  const files = testFiles(`test/${suite}`);
  if (!files.length) {
    console.log(`\n=== ${suite}: no test files${filter ? ` matching "${filter}"` : ''}`);
    continue;
  }
  // Integration tests drive llama.cpp tools that use every core: run those files one at a time.
  run(suite, process.execPath, nodeTest(files, suite === 'integration' ? 1 : 2));
}

console.log('\n=== summary');
for (const r of results) console.log(`${r.ok ? 'PASS' : 'FAIL'}  ${r.name.padEnd(12)} ${r.detail.padEnd(10)} ${r.seconds}s`);
const failed = results.filter((r) => !r.ok);
console.log(failed.length ? `${failed.length} step(s) failed` : 'all steps passed');
process.exit(failed.length ? 1 : 0);
