/**
 * The Hugging Face cache section of `pajamas/listModels`: core/hf/cache.ts lists the standard hub
 * cache (HF_HUB_CACHE / HF_HOME / ~/.cache/huggingface/hub), read only; this module picks the
 * snapshot a job should read for each repo (the one refs/main names, else the newest).
 */
import { asPajamasError } from '../core/errors';
import { hubCacheRoot, listCachedModels, preferredSnapshot, type CachedSnapshot } from '../core/hf/cache';
import type { HfCacheModel, ModelKind, ModelListing } from '../protocol/models';

export async function listHfCache(): Promise<ModelListing['hfCache']> {
  const root = hubCacheRoot();
  try {
    const models: HfCacheModel[] = [];
    for (const m of await listCachedModels({ cacheDir: root })) {
      const snapshot = preferredSnapshot(m);
      if (!snapshot) continue; // a repo whose download never produced a snapshot
      models.push({
        repoId: m.repoId,
        path: snapshot.path,
        kind: snapshotKind(snapshot),
        revision: snapshot.commit,
        sizeBytes: m.sizeBytes,
      });
    }
    return { root, models, error: null };
  } catch (error) {
    return { root, models: [], error: `could not read the Hugging Face cache: ${asPajamasError(error).message}` };
  }
}

/** A snapshot with only .gguf files at its top is a GGUF repo; anything else is read as a Hugging Face folder. */
function snapshotKind(s: CachedSnapshot): ModelKind {
  const top = s.files.filter((f) => !f.path.includes('/'));
  const hasWeights = top.some((f) => f.path.endsWith('.safetensors')) && top.some((f) => f.path === 'config.json');
  return !hasWeights && top.some((f) => f.path.toLowerCase().endsWith('.gguf')) ? 'gguf' : 'hf-folder';
}
