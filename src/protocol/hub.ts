/**
 * The worker's Hugging Face Hub requests, for "Add Model from the Hub..." and the Pajamas view's
 * cached models: search, the fit check, the download (a job: progress, log lines, cancel) and
 * deleting a cached repo. The endpoint and the token are the worker's environment (HF_ENDPOINT;
 * HF_TOKEN, which the extension sets from SecretStorage), never a request parameter, so no
 * message of this protocol ever carries the token.
 */
import { RequestType } from 'vscode-jsonrpc';
import type { HubModelFit } from '../core/hf/hub-fit';
import type { HubSearchResult } from '../core/hf/hub-search';
import type { WorkerErrorData } from './errors';
import type { JobParams } from './worker';

export type { HubModelFit, HubSearchResult };

// ---- pajamas/hubSearch ----------------------------------------------------------------------

export interface HubSearchParams {
  /** Part of a repo id ("smollm", "Qwen/Qwen2"). */
  query: string;
  limit?: number;
}

export const HubSearchRequest = new RequestType<HubSearchParams, HubSearchResult[], WorkerErrorData>('pajamas/hubSearch');

// ---- pajamas/hubFit -------------------------------------------------------------------------

export interface HubFitParams {
  /** `org/name[@revision]`. */
  repo: string;
  /** Where the artifacts would go (the disk check counts the outputs there). */
  outDir?: string;
}

export const HubFitRequest = new RequestType<HubFitParams, HubModelFit, WorkerErrorData>('pajamas/hubFit');

// ---- pajamas/hubDownload --------------------------------------------------------------------

export interface HubDownloadParams extends JobParams {
  /** `org/name[@revision]`. */
  repo: string;
}

export interface HubDownloadResult {
  repoId: string;
  revision: string;
  commit: string;
  /** The `snapshots/<commit>` folder: what Quantize reads. */
  path: string;
  files: number;
  totalBytes: number;
  /** Bytes that came over the network (0 when everything was cached). */
  downloadedBytes: number;
}

export const HubDownloadRequest = new RequestType<HubDownloadParams, HubDownloadResult, WorkerErrorData>('pajamas/hubDownload');

// ---- pajamas/hubDelete ----------------------------------------------------------------------

export interface HubDeleteParams {
  repoId: string;
}

export interface HubDeleteResult {
  /** 0 when the repo was not cached. */
  freedBytes: number;
}

export const HubDeleteRequest = new RequestType<HubDeleteParams, HubDeleteResult, WorkerErrorData>('pajamas/hubDelete');
