/**
 * What the chat's model picker offers: every artifact of the manifests the Pajamas view knows,
 * and the loose .gguf files (workspace and Hugging Face cache), from the same listing the tree
 * shows. Each says what it is, how good it measured, and the backend that would run it.
 */
import path from 'node:path';
import type { ChatModelOption, ChatTarget } from '../../protocol/chat';
import type { ArtifactFolder, ModelListing } from '../../protocol/models';

/** The picker key of a manifest's artifact, or of a bare .gguf file. */
export function chatKey(target: Pick<ChatTarget, 'input' | 'artifactId'>): string {
  return target.artifactId === null ? target.input : `${target.input}#${target.artifactId}`;
}

const APPLE_SILICON = process.platform === 'darwin' && process.arch === 'arm64';

/**
 * `ggufBackend` is what node-llama-cpp ran on last ("node-llama-cpp (cpu)"), once known; before
 * that, just the library's name.
 */
export function chatModelOptions(listing: ModelListing, ggufBackend: string): ChatModelOption[] {
  const options: ChatModelOption[] = listing.artifacts.flatMap((f) => artifactOptions(f, ggufBackend));
  const loose = [
    ...listing.workspace.filter((m) => m.kind === 'gguf').map((m) => ({ path: m.path, sizeBytes: m.sizeBytes })),
    ...(listing.hfCache?.models ?? []).filter((m) => m.kind === 'gguf').map((m) => ({ path: m.path, sizeBytes: m.sizeBytes ?? 0 })),
  ];
  for (const m of loose) {
    options.push({
      key: chatKey({ input: m.path, artifactId: null }),
      label: path.basename(m.path),
      group: path.dirname(m.path),
      target: { input: m.path, artifactId: null },
      format: 'gguf',
      quant: null,
      strategy: null,
      sizeBytes: m.sizeBytes,
      quality: null,
      backend: ggufBackend,
      unavailable: null,
    });
  }
  return options;
}

function artifactOptions(folder: ArtifactFolder, ggufBackend: string): ChatModelOption[] {
  return folder.artifacts.map((a) => {
    const target: ChatTarget = { input: folder.manifestPath, artifactId: a.id };
    const unavailable = !a.present
      ? 'its file is missing'
      : a.format === 'mlx' && !APPLE_SILICON
        ? `MLX runs on Apple Silicon only (this is ${process.platform}-${process.arch})`
        : null;
    return {
      key: chatKey(target),
      label: a.id,
      group: folder.model ?? path.basename(folder.folder),
      target,
      format: a.format,
      quant: a.target,
      strategy: `${a.strategy}${a.imatrix ? ' + imatrix' : ''}`,
      sizeBytes: a.sizeBytes,
      quality: a.quality ? { ppl: a.quality.ppl, kldMean: a.quality.kldMean, gatePassed: a.quality.gatePassed } : null,
      backend: a.format === 'gguf' ? ggufBackend : 'mlx_lm',
      unavailable,
    };
  });
}

/**
 * An option for a key the listing does not have (a manifest outside the workspace folders, opened
 * in the manifest editor): enough to check the fit and load it; the worker reads the rest.
 */
export function adHocOption(key: string, ggufBackend: string): ChatModelOption {
  const hash = key.lastIndexOf('#');
  const manifest = hash > 0 && /\.json$/i.test(key.slice(0, hash));
  const target: ChatTarget = manifest ? { input: key.slice(0, hash), artifactId: key.slice(hash + 1) } : { input: key, artifactId: null };
  return {
    key,
    label: target.artifactId ?? path.basename(target.input),
    group: path.dirname(target.input),
    target,
    format: 'gguf',
    quant: null,
    strategy: null,
    sizeBytes: 0,
    quality: null,
    backend: ggufBackend,
    unavailable: null,
  };
}
