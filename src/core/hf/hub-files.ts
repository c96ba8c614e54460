/**
 * Which files of a Hub repo a conversion needs: the config, the safetensors weights the converter
 * reads (the shards the index names, else model.safetensors, else the only .safetensors file), the
 * tokenizer and chat-template files, and the generation config. Never other weight formats
 * (.bin, .pth, .onnx, .gguf...) nor subfolders such as original/: they are not read, and are often
 * as large as the model itself. Callers may add files by glob (`include`).
 */
import { FormatError, UsageError } from '../errors';
import { SAFETENSORS_INDEX_FILE, SAFETENSORS_SINGLE_FILE } from '../formats/safetensors';
import type { HubFile } from './hub-client';

/** Files beside the weights that the converter, the MLX writer or the runtime read. */
export const CONVERSION_FILES: ReadonlySet<string> = new Set([
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer.model',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'added_tokens.json',
  'vocab.json',
  'merges.txt',
  'chat_template.jinja',
  'chat_template.json',
]);

/** A glob over repo paths: `*` and `?` stay within a folder, `**` crosses folders. */
export function globToRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      out += '.*';
      i++;
      if (glob[i + 1] === '/') i++;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

/** The index file, when the repo's weights are sharded: it must be read before the shards are chosen. */
export function findIndexFile(files: readonly HubFile[]): HubFile | null {
  return files.find((f) => f.path === SAFETENSORS_INDEX_FILE) ?? null;
}

/**
 * The files to download. `shards` are the files the index names (null when there is no index).
 * Throws when the repo has no weights the converter can read, saying what it has instead.
 */
export function selectConversionFiles(
  repoId: string,
  files: readonly HubFile[],
  shards: readonly string[] | null,
  include: readonly string[] = [],
): HubFile[] {
  const byPath = new Map(files.map((f) => [f.path, f]));
  const chosen = new Map<string, HubFile>();
  for (const f of files) if (CONVERSION_FILES.has(f.path)) chosen.set(f.path, f);
  for (const f of weightFiles(repoId, files, byPath, shards, include.length > 0)) chosen.set(f.path, f);
  for (const glob of include) {
    const re = globToRegExp(glob);
    const matched = files.filter((f) => re.test(f.path));
    if (!matched.length) throw new UsageError(`no file of ${repoId} matches "${glob}"`);
    for (const f of matched) chosen.set(f.path, f);
  }
  if (!chosen.has('config.json') && !include.length)
    throw new UsageError(`${repoId} has no config.json: it is not a Hugging Face Transformers model${ggufHint(files)}`);
  return [...chosen.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function weightFiles(
  repoId: string,
  files: readonly HubFile[],
  byPath: Map<string, HubFile>,
  shards: readonly string[] | null,
  extrasAsked: boolean,
): HubFile[] {
  if (shards) {
    const missing = shards.filter((s) => !byPath.has(s));
    if (missing.length) {
      throw new FormatError(
        `${SAFETENSORS_INDEX_FILE} of ${repoId} names shards that the repo does not have: ${missing.slice(0, 3).join(', ')}`,
      );
    }
    return [byPath.get(SAFETENSORS_INDEX_FILE)!, ...shards.map((s) => byPath.get(s)!)];
  }
  const single = byPath.get(SAFETENSORS_SINGLE_FILE);
  if (single) return [single];
  const root = files.filter((f) => !f.path.includes('/') && f.path.endsWith('.safetensors'));
  if (root.length === 1) return root;
  if (extrasAsked) return []; // the caller names what it wants (a GGUF repo, an adapter)
  const what = root.length
    ? `${root.length} .safetensors files but no ${SAFETENSORS_INDEX_FILE} to say which make the model`
    : 'no .safetensors weights';
  throw new UsageError(`${repoId} has ${what}${ggufHint(files)}`);
}

function ggufHint(files: readonly HubFile[]): string {
  const ggufs = files.filter((f) => f.path.toLowerCase().endsWith('.gguf')).map((f) => f.path);
  if (!ggufs.length) return '';
  const some = `${ggufs.slice(0, 3).join(', ')}${ggufs.length > 3 ? ', ...' : ''}`;
  return `; it holds GGUF files (${some}): name the one to download as an extra file (e.g. *Q4_K_M.gguf)`;
}

/** The shard names of an index file's weight_map, checked to be plain file names at the repo root. */
export function shardsFromIndex(text: string, repoId: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new FormatError(`${SAFETENSORS_INDEX_FILE} of ${repoId} is not JSON (${(error as Error).message})`);
  }
  const map = (parsed as { weight_map?: unknown } | null)?.weight_map;
  if (!map || typeof map !== 'object' || Array.isArray(map))
    throw new FormatError(`${SAFETENSORS_INDEX_FILE} of ${repoId} has no weight_map object`);
  const shards = new Set<string>();
  for (const value of Object.values(map)) {
    if (typeof value !== 'string' || !value.endsWith('.safetensors') || value.includes('/') || value.includes('\\'))
      throw new FormatError(
        `${SAFETENSORS_INDEX_FILE} of ${repoId} maps a tensor to ${JSON.stringify(value)}, not a .safetensors file beside it`,
      );
    shards.add(value);
  }
  return [...shards].sort();
}
