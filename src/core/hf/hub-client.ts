/**
 * The Hub as `@huggingface/hub` sees it, with what the library leaves out: a fetch that honours
 * the job's signal and a timeout, remembers the Hub's `X-Error-Code` for each failed URL (so a
 * 404 can say whether the repo, the revision or a file is missing), and errors that name the repo
 * and what to do next, never the token.
 */
import { HubApiError, listFiles, modelInfo } from '@huggingface/hub';
import { CancelledError, FailureError, HubError, PajamasError } from '../errors';
import { redactToken, resolveHubAccess, type HubAccess, type ResolvedHubAccess } from './hub-access';
import { formatHubRef, type HubRef } from './repo-ref';

/** How long to wait for the Hub to answer a metadata request before calling it unreachable. */
export const HUB_TIMEOUT_MS = 20_000;

export interface HubClient {
  access: ResolvedHubAccess;
  signal: AbortSignal | undefined;
  /** Spread into `@huggingface/hub` calls. */
  libraryParams: { hubUrl: string; accessToken?: string; fetch: typeof fetch };
  /** fetch with the job's signal and no overall timeout, for file bodies (the caller watches for stalls). */
  fetchBody(url: string, init: RequestInit, signal: AbortSignal): Promise<Response>;
  /** The Hub's X-Error-Code for a URL that failed, if it sent one. */
  errorCodeFor(url: string): string | undefined;
}

export function createHubClient(access: HubAccess = {}, signal?: AbortSignal): HubClient {
  const resolved = resolveHubAccess(access);
  const errorCodes = new Map<string, string>();
  const remember = (url: string, response: Response) => {
    if (response.ok) return;
    const code = response.headers.get('x-error-code');
    if (code) errorCodes.set(url, code);
  };
  const metadataFetch: typeof fetch = async (input, init) => {
    const timeout = AbortSignal.timeout(HUB_TIMEOUT_MS);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const response = await fetch(input, { ...init, signal: combined });
    remember(response.url || String(input), response);
    if (response.url && response.url !== String(input)) remember(String(input), response);
    return response;
  };
  return {
    access: resolved,
    signal,
    libraryParams: { hubUrl: resolved.endpoint, fetch: metadataFetch, ...(resolved.token ? { accessToken: resolved.token } : {}) },
    fetchBody: async (url, init, bodySignal) => {
      const response = await fetch(url, { ...init, signal: bodySignal });
      remember(url, response);
      return response;
    },
    errorCodeFor: (url) => errorCodes.get(url),
  };
}

/** Resolves a branch, tag or commit to the commit hash it names now. */
export async function resolveCommit(client: HubClient, ref: HubRef): Promise<string> {
  try {
    const info = await modelInfo({ ...client.libraryParams, name: ref.repoId, revision: ref.revision, additionalFields: ['sha'] });
    if (typeof info.sha !== 'string' || !/^[0-9a-f]{40}$/.test(info.sha)) {
      throw new HubError('server', `the Hub's answer for ${formatHubRef(ref)} has no commit hash`, { repo: ref.repoId });
    }
    return info.sha;
  } catch (error) {
    throw hubFailure(client, error, ref, 'look up');
  }
}

export interface HubFile {
  /** Path in the repo with `/` separators. */
  path: string;
  sizeBytes: number;
  /** Git blob sha1 (what the cache names non-LFS blobs by). */
  gitOid: string;
  /** sha256 of the content for LFS files (what the cache names them by), else null. */
  lfsSha256: string | null;
}

/** Every file of the repo at `commit`, subfolders included. */
export async function listRepoFiles(client: HubClient, ref: HubRef, commit: string): Promise<HubFile[]> {
  const files: HubFile[] = [];
  try {
    for await (const entry of listFiles({ ...client.libraryParams, repo: ref.repoId, revision: commit, recursive: true })) {
      if (entry.type !== 'file') continue;
      if (!entry.oid) throw new HubError('server', `the Hub listed ${entry.path} of ${ref.repoId} without a hash`, { repo: ref.repoId });
      files.push({ path: entry.path, sizeBytes: entry.size, gitOid: entry.oid, lfsSha256: entry.lfs?.oid ?? null });
    }
  } catch (error) {
    throw hubFailure(client, error, ref, 'list the files of');
  }
  return files;
}

/**
 * A clear error for a failed Hub request: 401, 403, 404 (repo, revision or file), offline, server
 * trouble. `what` is the verb phrase of the attempt ("download", "look up").
 */
export function hubFailure(client: HubClient, error: unknown, ref: HubRef, what: string, file?: string): PajamasError {
  if (client.signal?.aborted) return new CancelledError();
  if (error instanceof PajamasError) return error;
  const name = formatHubRef(ref);
  const repo = ref.repoId;
  const where = client.access.endpoint;
  const hasToken = !!client.access.token;
  if (error instanceof HubApiError) {
    const status = error.statusCode;
    const code = client.errorCodeFor(error.url);
    const data = { repo, status, ...(file ? { file } : {}) };
    if (status === 401) {
      const why = hasToken
        ? 'the access token was refused (expired or revoked?); set a valid token in HF_TOKEN or the extension'
        : 'it is private or gated, or does not exist; set HF_TOKEN (or the token in the extension) to a token that can read it';
      return new HubError('unauthorized', `${where} answered 401 Unauthorized for ${name}: ${why}`, data);
    }
    if (status === 403) {
      const why = hasToken
        ? `this token may not read it: if it is gated, accept its terms at ${where}/${repo}; a fine-grained token needs read access to it`
        : `it is gated: accept its terms at ${where}/${repo} and set HF_TOKEN`;
      return new HubError('forbidden', `${where} answered 403 Forbidden for ${name}: ${why}`, data);
    }
    if (status === 404 && code === 'RevisionNotFound')
      return new HubError(
        'revision-not-found',
        `${repo} has no revision "${ref.revision}" on ${where}; check the branch, tag or commit`,
        data,
      );
    if (status === 404 && code === 'EntryNotFound')
      return new HubError('not-found', `${repo} at ${ref.revision} has no file ${file ?? '(unnamed)'} on ${where}`, data);
    if (status === 404)
      return new HubError(
        'not-found',
        `${repo} does not exist on ${where} (or is private and the token cannot see it); check the repo id`,
        data,
      );
    return new HubError(
      'server',
      `${where} answered ${status} when trying to ${what} ${name}${file ? ` (${file})` : ''}; try again later`,
      data,
    );
  }
  if (isNetworkError(error)) {
    const why = networkReason(error);
    return new HubError(
      'offline',
      `cannot reach the Hugging Face Hub at ${where} (${why}) to ${what} ${name}: ` +
        'check the connection or HF_ENDPOINT, or pass a local model folder',
      { repo, ...(file ? { file } : {}) },
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return new FailureError(`could not ${what} ${name} on ${where}: ${redactToken(message, client.access.token)}`, { repo });
}

function isNetworkError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return error.name === 'TimeoutError' || (error instanceof TypeError && /fetch failed|terminated|network/i.test(error.message));
}

function networkReason(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return `no answer within ${HUB_TIMEOUT_MS / 1000} s`;
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}
