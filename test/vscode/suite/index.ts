/**
 * The in-host test suite's entry: a plain mocha `run()` module, the contract of both
 * @vscode/test-electron (`extensionTestsPath`) and the code-server harness (test/vscode/run.mjs).
 * It runs every `*.test.js` next to it (test/vscode/run.mjs bundles them into dist/test/vscode/suite).
 */
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Mocha from 'mocha';
import * as vscode from 'vscode';
import type { PajamasApi } from '../../../src/extension/api';

/** Per-test timeout: the first command activates the extension. */
const TEST_TIMEOUT_MS = 60_000;

/** The extension's log, for reading after a failure (PAJAMAS_VSCODE_OUTPUT names the file). */
function keepOutputChannel(): void {
  const file = process.env.PAJAMAS_VSCODE_OUTPUT;
  const api = vscode.extensions.getExtension<PajamasApi>('llama-pajamas.llama-pajamas')?.exports;
  if (file && api?.testing) writeFileSync(file, api.testing.outputText());
}

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', timeout: TEST_TIMEOUT_MS, color: false, reporter: 'spec' });
  const grep = process.env.PAJAMAS_VSCODE_GREP;
  if (grep) mocha.grep(grep);
  const files = readdirSync(__dirname)
    .filter((f) => f.endsWith('.test.js'))
    .sort();
  if (!files.length) return Promise.reject(new Error(`no *.test.js files in ${__dirname}`));
  for (const f of files) mocha.addFile(path.join(__dirname, f));
  return new Promise((resolve, reject) => {
    mocha.run((failures) => {
      keepOutputChannel();
      if (failures) reject(new Error(`${failures} in-host test(s) failed`));
      else resolve();
    });
  });
}
