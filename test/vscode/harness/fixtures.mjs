// Models the VS Code tests work on, copied from ../shared into the scratch workspace (never into
// the project), and a Hugging Face hub cache in the standard layout (blobs, snapshots of symlinks,
// refs) holding one of them, for the Pajamas view's "Hugging Face cache" section.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import path from 'node:path';

export function sharedRoot(projectRoot) {
  return process.env.PAJAMAS_SHARED_DIR ?? path.resolve(projectRoot, '..', 'shared');
}

/** Copies the shared tiny models the tests quantize into `ws/models/`; returns what it copied. */
export function copySharedModels(ws, shared) {
  const copied = [];
  const hf = path.join(shared, 'models', 'stories260K-hf');
  if (existsSync(hf)) {
    cpSync(hf, path.join(ws, 'models', 'stories-hf'), { recursive: true });
    copied.push('models/stories-hf');
  }
  const gguf = path.join(shared, 'models', 'stories260K-gguf', 'stories260K.gguf');
  if (existsSync(gguf)) {
    mkdirSync(path.join(ws, 'models'), { recursive: true });
    copyFileSync(gguf, path.join(ws, 'models', 'stories260K.gguf'));
    copied.push('models/stories260K.gguf');
  }
  return copied;
}

/**
 * `<cache>/models--pajamas--stories260K/{blobs/<sha256>, snapshots/<rev>/<file> -> ../../blobs/<sha256>, refs/main}`,
 * the layout huggingface_hub writes. Returns the cache root, or null without ../shared.
 */
export function buildHfCache(cache, shared) {
  const source = path.join(shared, 'models', 'stories260K-hf');
  if (!existsSync(source)) return null;
  const repo = path.join(cache, 'models--pajamas--stories260K');
  const revision = createHash('sha1').update('pajamas-test-revision').digest('hex');
  const snapshot = path.join(repo, 'snapshots', revision);
  mkdirSync(path.join(repo, 'blobs'), { recursive: true });
  mkdirSync(snapshot, { recursive: true });
  mkdirSync(path.join(repo, 'refs'), { recursive: true });
  for (const file of readdirSync(source)) {
    const bytes = readFileSync(path.join(source, file));
    const blob = createHash('sha256').update(bytes).digest('hex');
    writeFileSync(path.join(repo, 'blobs', blob), bytes);
    symlinkSync(path.join('..', '..', 'blobs', blob), path.join(snapshot, file));
  }
  writeFileSync(path.join(repo, 'refs', 'main'), revision);
  return cache;
}
