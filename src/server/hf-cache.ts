/**
 * The Hugging Face cache section of `pajamas/listModels`. The cache layout and its scanner belong to
 * the Hub work (src/core/hf/cache.ts); until it is part of this build, the section says the listing
 * is not available instead of guessing at the layout here.
 */
import type { ModelListing } from '../protocol/models';

export async function listHfCache(): Promise<ModelListing['hfCache']> {
  return { root: '', models: [], error: 'listing the Hugging Face cache is not available in this build yet' };
}
