/** Reading and writing manifest.json: validated on the way in and out, written atomically. */
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FormatError, UsageError } from '../errors';
import { writeAtomically } from '../fs/atomic';
import { MANIFEST_MAX_BYTES } from './limits';
import { checkManifestPathsInside } from './paths';
import { validateManifest } from './schema';
import { MANIFEST_FILE, type Manifest } from './types';

/** Accepts a manifest file or the folder holding one. */
export async function resolveManifestPath(input: string): Promise<string> {
  const info = await stat(input).catch(() => null);
  if (!info) throw new UsageError(`${input} does not exist`);
  return info.isDirectory() ? path.join(input, MANIFEST_FILE) : input;
}

/**
 * Reads, validates and checks a manifest: size, JSON, schema, content, and that every path it names
 * stays inside its folder, all before any file it names is opened.
 */
export async function readManifest(input: string): Promise<{ path: string; manifest: Manifest }> {
  const file = await resolveManifestPath(input);
  const info = await stat(file).catch((error: NodeJS.ErrnoException) => {
    throw error.code === 'ENOENT' ? new UsageError(`no ${MANIFEST_FILE} at ${file}`) : error;
  });
  if (!info.isFile()) throw new FormatError(`not a file`, { path: file });
  if (info.size > MANIFEST_MAX_BYTES) {
    throw new FormatError(`${info.size} bytes is more than a manifest can be (MANIFEST_MAX_BYTES is ${MANIFEST_MAX_BYTES})`, {
      path: file,
    });
  }
  const text = await readFile(file, 'utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new FormatError(`not valid JSON (${(error as Error).message})`, { path: file });
  }
  const manifest = validateManifest(value, file);
  await checkManifestPathsInside(manifest, file);
  return { path: file, manifest };
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
