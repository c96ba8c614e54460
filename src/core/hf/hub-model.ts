/**
 * What detect and plan need of a Hub repo without downloading its weights: the cached snapshot
 * when one is complete, else the repo's config.json fetched into memory (the cache is not written).
 */
import { downloadFile } from '@huggingface/hub';
import { HubError } from '../errors';
import { parseConfigJson, type HfConfig } from './config';
import { resolveHubAccess, type HubAccess } from './hub-access';
import { cachedSnapshot } from './hub-cached';
import { createHubClient, hubFailure } from './hub-client';
import { formatHubRef, isHubRef, parseHubRef } from './repo-ref';

export interface HubLookupOptions {
  hub?: HubAccess;
  signal?: AbortSignal;
}

/** The snapshot folder of a cached repo ref, when it holds what a conversion needs; null otherwise (or for a non-ref). */
export async function cachedHubModelPath(input: string, access?: HubAccess): Promise<string | null> {
  if (!isHubRef(input)) return null;
  const snapshot = await cachedSnapshot(parseHubRef(input), resolveHubAccess(access).cacheDir);
  return snapshot?.path ?? null;
}

/** config.json of `org/name[@revision]`, read from the Hub. */
export async function fetchHubConfig(input: string, opts: HubLookupOptions = {}): Promise<HfConfig> {
  const ref = parseHubRef(input);
  const client = createHubClient(opts.hub, opts.signal);
  let blob: Blob | null;
  let text: string;
  try {
    blob = await downloadFile({ ...client.libraryParams, repo: ref.repoId, path: 'config.json', revision: ref.revision, xet: false });
    text = blob ? await blob.text() : '';
  } catch (error) {
    throw hubFailure(client, error, ref, 'read the config.json of', 'config.json');
  }
  if (!blob) {
    throw new HubError('not-found', `${formatHubRef(ref)} has no config.json: it is not a Hugging Face Transformers model`, {
      repo: ref.repoId,
      file: 'config.json',
    });
  }
  return parseConfigJson(text, `${formatHubRef(ref)}/config.json`);
}
