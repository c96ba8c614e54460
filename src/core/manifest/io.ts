/** Reading and writing manifest.json: validated on the way in and out, written atomically. */
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FormatError, UsageError } from '../errors';
import { writeAtomically } from '../fs/atomic';
import { validateManifest } from './schema';
import { MANIFEST_FILE, type Manifest } from './types';

/** Accepts a manifest file or the folder holding one. */
export async function resolveManifestPath(input: string): Promise<string> {
  const info = await stat(input).catch(() => null);
  if (!info) throw new UsageError(`${input} does not exist`);
  return info.isDirectory() ? path.join(input, MANIFEST_FILE) : input;
}

export async function readManifest(input: string): Promise<{ path: string; manifest: Manifest }> {
  const file = await resolveManifestPath(input);
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw error.code === 'ENOENT' ? new UsageError(`no ${MANIFEST_FILE} at ${file}`) : error;
  });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new FormatError(`not valid JSON (${(error as Error).message})`, { path: file });
  }
  return { path: file, manifest: validateManifest(value, file) };
}

/** Validates, then writes under a temporary name and renames, so a reader never sees half a manifest. */
export async function writeManifest(file: string, manifest: Manifest): Promise<void> {
  validateManifest(manifest, file);
  await writeAtomically(file, (tmp) => writeFile(tmp, `${JSON.stringify(manifest, null, 2)}\n`));
}

/** Absolute path of a path recorded in the manifest. */
export function manifestRelative(manifestFile: string, relative: string): string {
  return path.resolve(path.dirname(manifestFile), relative);
}
