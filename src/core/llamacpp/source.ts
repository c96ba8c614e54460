/**
 * The llama.cpp source the tools are built from: the git bundle that ships inside the pinned
 * node-llama-cpp, so the quantizer and the runtime are the same llama.cpp release. The release
 * tag comes from `llama/llama.cpp.info.json`, the commit from the bundle's own header (read
 * directly: no git needed just to know which build the cache should hold).
 */
import { existsSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { FailureError, FormatError, type Remedy } from '../errors';

/** A bundle header lists refs before the pack data; real ones are well under this. */
export const BUNDLE_HEADER_LIMIT = 64 * 1024;
const BUNDLE_RELATIVE = path.join('node_modules', 'node-llama-cpp', 'llama', 'gitRelease.bundle');

export interface LlamaSource {
  /** node_modules/node-llama-cpp/llama/gitRelease.bundle */
  bundlePath: string;
  /** Release tag from llama.cpp.info.json, e.g. "v0.4.0". */
  release: string;
  /** Full commit the bundle's HEAD points at. */
  commit: string;
}

export interface BundleHeader {
  version: number;
  refs: { commit: string; name: string }[];
}

/** Parses the text header of a git bundle (v2 or v3): `# v2 git bundle`, refs, blank line. */
export function parseBundleHeader(text: string, where = 'git bundle'): BundleHeader {
  const lines = text.split('\n');
  const m = /^# v([23]) git bundle$/.exec(lines[0] ?? '');
  if (!m) throw new FormatError('not a git bundle (no "# v2/v3 git bundle" signature)', { path: where, offset: 0 });
  const refs: BundleHeader['refs'] = [];
  // The last element follows the final newline: an unfinished line, never the blank terminator.
  for (const line of lines.slice(1, -1)) {
    if (line === '') return { version: Number(m[1]), refs };
    if (line.startsWith('@') || line.startsWith('-')) continue; // v3 capabilities, prerequisites
    const ref = /^([0-9a-f]{40}|[0-9a-f]{64}) (\S+)$/.exec(line);
    if (!ref) throw new FormatError(`unexpected line in bundle header: "${line.slice(0, 80)}"`, { path: where });
    refs.push({ commit: ref[1]!, name: ref[2]! });
  }
  throw new FormatError(`bundle header does not end within ${BUNDLE_HEADER_LIMIT} bytes`, { path: where });
}

/** The commit a bundle checks out: its HEAD, else its only ref. */
export function bundleHeadCommit(header: BundleHeader, where = 'git bundle'): string {
  const head = header.refs.find((r) => r.name === 'HEAD') ?? (header.refs.length === 1 ? header.refs[0] : undefined);
  if (!head) throw new FormatError('bundle has no HEAD ref', { path: where });
  return head.commit;
}

/** Directories to search for node_modules/node-llama-cpp, nearest first. */
function searchRoots(extra: string | undefined): string[] {
  const starts = [extra, __dirname, process.cwd()].filter((d): d is string => !!d);
  const roots: string[] = [];
  for (const start of starts) {
    for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
      if (!roots.includes(dir)) roots.push(dir);
      if (path.dirname(dir) === dir) break;
    }
  }
  return roots;
}

/** Path of node-llama-cpp's llama.cpp bundle, or null when node-llama-cpp is not installed. */
export function findBundlePath(packageRoot?: string): string | null {
  for (const root of searchRoots(packageRoot)) {
    const p = path.join(root, BUNDLE_RELATIVE);
    if (existsSync(p)) return p;
  }
  return null;
}

/** Reads release and commit of the bundled llama.cpp source. */
export async function findLlamaSource(packageRoot?: string): Promise<LlamaSource> {
  const bundlePath = findBundlePath(packageRoot);
  if (!bundlePath) {
    throw new FailureError(
      `cannot find the llama.cpp source shipped with node-llama-cpp (${BUNDLE_RELATIVE}); ` +
        'run "npm ci" in the project, or use llama.cpp binaries of your own (PAJAMAS_LLAMA_BIN_DIR names their folder)',
      { remedies: [{ option: 'llamaBinDir' }] satisfies Remedy[] },
    );
  }
  const infoPath = path.join(path.dirname(bundlePath), 'llama.cpp.info.json');
  let release: unknown;
  try {
    release = (JSON.parse(await readFile(infoPath, 'utf8')) as { tag?: unknown }).tag;
  } catch (error) {
    throw new FormatError(`cannot read the llama.cpp release tag: ${(error as Error).message}`, { path: infoPath });
  }
  if (typeof release !== 'string' || !release) throw new FormatError('no "tag" string', { path: infoPath });
  return { bundlePath, release, commit: bundleHeadCommit(await readBundleHeader(bundlePath), bundlePath) };
}

async function readBundleHeader(bundlePath: string): Promise<BundleHeader> {
  const handle = await open(bundlePath, 'r');
  try {
    const buffer = Buffer.alloc(BUNDLE_HEADER_LIMIT);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return parseBundleHeader(buffer.subarray(0, bytesRead).toString('latin1'), bundlePath);
  } finally {
    await handle.close();
  }
}
