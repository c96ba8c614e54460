/**
 * Model search on the Hub, for "Add Model from the Hub..." (search as you type): the most
 * downloaded text-generation repos whose name matches, with what the picker shows.
 */
import { listModels } from '@huggingface/hub';
import type { HubAccess } from './hub-access';
import { createHubClient, hubFailure } from './hub-client';

/** Enough to fill a quick pick without scrolling far; the Hub pages beyond this. */
export const DEFAULT_SEARCH_LIMIT = 20;

export interface HubSearchResult {
  repoId: string;
  downloads: number;
  likes: number;
  /** false, or how access is granted ("auto", "manual"): a token is needed either way. */
  gated: false | 'auto' | 'manual';
  private: boolean;
  updatedAt: string;
  /** The repo holds safetensors weights (what a conversion reads) or GGUF files (chat at once). */
  safetensors: boolean;
  gguf: boolean;
}

export interface HubSearchOptions {
  hub?: HubAccess;
  signal?: AbortSignal;
  limit?: number;
}

export async function searchHubModels(query: string, opts: HubSearchOptions = {}): Promise<HubSearchResult[]> {
  const client = createHubClient(opts.hub, opts.signal);
  const results: HubSearchResult[] = [];
  try {
    for await (const m of listModels({
      ...client.libraryParams,
      search: { query: query.trim(), task: 'text-generation' },
      sort: 'downloads',
      limit: opts.limit ?? DEFAULT_SEARCH_LIMIT,
      additionalFields: ['tags'],
    })) {
      const tags = Array.isArray(m.tags) ? m.tags : [];
      results.push({
        repoId: m.name,
        downloads: m.downloads,
        likes: m.likes,
        gated: m.gated,
        private: m.private,
        updatedAt: m.updatedAt.toISOString(),
        safetensors: tags.includes('safetensors'),
        gguf: tags.includes('gguf'),
      });
    }
  } catch (error) {
    throw hubFailure(client, error, { repoId: `models matching "${query}"`, revision: 'main' }, 'search');
  }
  return results;
}
