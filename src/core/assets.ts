/**
 * Files that ship with the package (data/, schemas/) and its version, found from wherever the code
 * runs: the bundles in dist/, or the sources under src/ in tests.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { FailureError } from './errors';

const PACKAGE_NAME = 'llama-pajamas';

let root: string | undefined;

/** The folder holding the project's package.json. */
export function packageRoot(): string {
  if (root) return root;
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === PACKAGE_NAME) {
      root = dir;
      return dir;
    }
    if (path.dirname(dir) === dir)
      throw new FailureError(`cannot find the ${PACKAGE_NAME} package folder above ${__dirname}: the installation is damaged`);
  }
}

export function dataPath(...parts: string[]): string {
  return path.join(packageRoot(), 'data', ...parts);
}

export function packageVersion(): string {
  return (JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

/** node-llama-cpp's version, read from its package folder (its exports hide package.json). */
export function nodeLlamaCppVersion(): string | null {
  const file = path.join(packageRoot(), 'node_modules', 'node-llama-cpp', 'package.json');
  if (!existsSync(file)) return null;
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}
