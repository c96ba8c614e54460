/**
 * The worker's Hub requests (src/protocol/hub.ts): each calls the core function the CLI calls.
 * The download runs as a job (progress in bytes, log lines, cancel); what a cancel leaves is an
 * `.incomplete` blob that the next download resumes. Endpoint, token and cache come from the
 * worker's environment (HF_ENDPOINT, HF_TOKEN set by the extension from SecretStorage, HF_HUB_CACHE).
 */
import type { CancellationToken, Connection } from 'vscode-languageserver/node';
import { deleteCachedModel } from '../core/hf/cache-delete';
import { repoCachePath } from '../core/hf/cache';
import type { HubAccess } from '../core/hf/hub-access';
import { downloadHubModel } from '../core/hf/hub-download';
import { checkHubModelFit, type HubModelFit } from '../core/hf/hub-fit';
import { searchHubModels, type HubSearchResult } from '../core/hf/hub-search';
import { parseHubRef } from '../core/hf/repo-ref';
import type { JobOptions } from '../core/job';
import {
  HubDeleteRequest,
  HubDownloadRequest,
  HubFitRequest,
  HubSearchRequest,
  type HubDeleteParams,
  type HubDeleteResult,
  type HubDownloadParams,
  type HubDownloadResult,
  type HubFitParams,
  type HubSearchParams,
} from '../protocol/hub';
import { handled } from './errors';
import type { JobRegistry } from './jobs';
import { signalOf } from './requests';

/** `hub`: for tests; the worker itself reaches the Hub its environment names. */
export function hubSearch({ query, limit }: HubSearchParams, signal?: AbortSignal, hub?: HubAccess): Promise<HubSearchResult[]> {
  return searchHubModels(query, { limit, signal, hub });
}

export function hubFit({ repo, outDir }: HubFitParams, signal?: AbortSignal, hub?: HubAccess): Promise<HubModelFit> {
  return checkHubModelFit(repo, { outDir, signal, hub });
}

/** Downloads what a conversion needs into the cache, as a job holding the repo's cache folder. */
export function hubDownload(
  jobs: JobRegistry,
  { jobId, repo }: HubDownloadParams,
  onCancel?: (listener: () => void) => void,
  hub?: HubAccess,
): Promise<HubDownloadResult> {
  const ref = parseHubRef(repo);
  return jobs.run(
    { jobId, method: 'hubDownload', folder: repoCachePath(ref.repoId, hub?.cacheDir), onCancel },
    async (opts: JobOptions): Promise<HubDownloadResult> => {
      const snapshot = await downloadHubModel(ref, { ...opts, hub });
      return {
        repoId: snapshot.repoId,
        revision: snapshot.revision,
        commit: snapshot.commit,
        path: snapshot.path,
        files: snapshot.files.length,
        totalBytes: snapshot.totalBytes,
        downloadedBytes: snapshot.downloadedBytes,
      };
    },
  );
}

export async function hubDelete({ repoId }: HubDeleteParams, hub?: HubAccess): Promise<HubDeleteResult> {
  return { freedBytes: await deleteCachedModel(repoId, hub) };
}

export function registerHubRequests(connection: Connection, jobs: JobRegistry): void {
  connection.onRequest(
    HubSearchRequest,
    handled((params: HubSearchParams, token: CancellationToken) => hubSearch(params, signalOf(token))),
  );
  connection.onRequest(
    HubFitRequest,
    handled((params: HubFitParams, token: CancellationToken) => hubFit(params, signalOf(token))),
  );
  connection.onRequest(
    HubDownloadRequest,
    handled((params: HubDownloadParams, token: CancellationToken) =>
      hubDownload(jobs, params, (listener) => token.onCancellationRequested(listener)),
    ),
  );
  connection.onRequest(
    HubDeleteRequest,
    handled((params: HubDeleteParams) => hubDelete(params)),
  );
}
