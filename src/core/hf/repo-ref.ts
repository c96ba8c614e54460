/**
 * Hub references as users type them: `owner/name` or `owner/name@revision` (a branch, a tag, a
 * commit hash, or `refs/pr/N`). The one place that decides whether an argument names a repo.
 */
import { UsageError } from '../errors';

/** The Hub's own limit on a repo name. */
export const MAX_REPO_NAME_LENGTH = 96;
/** Longer than any branch or tag a person types; a longer "revision" is a mistake. */
export const MAX_REVISION_LENGTH = 256;

const HUB_REPO_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

export interface HubRef {
  repoId: string;
  /** What was asked for (`main` when nothing was). */
  revision: string;
}

/** `owner/name`, as the Hugging Face Hub names model repositories (and no relative path). */
export function isHubRepoId(input: string): boolean {
  if (!HUB_REPO_ID.test(input) || input.startsWith('.')) return false;
  const name = input.slice(input.indexOf('/') + 1);
  // The Hub refuses names with "--" or ".." and names longer than 96 characters.
  return name.length <= MAX_REPO_NAME_LENGTH && !/--|\.\./.test(input) && !name.startsWith('.');
}

/** True when `input` looks like `owner/name` or `owner/name@revision`. */
export function isHubRef(input: string): boolean {
  const at = input.indexOf('@');
  return isHubRepoId(at < 0 ? input : input.slice(0, at));
}

/**
 * Parses `owner/name[@revision]`. A revision may contain `/` (`refs/pr/1`), but never a `..`
 * segment, an empty segment or a control character, since it names a file under `refs/` in the cache.
 */
export function parseHubRef(input: string): HubRef {
  const at = input.indexOf('@');
  const repoId = at < 0 ? input : input.slice(0, at);
  if (!isHubRepoId(repoId)) {
    throw new UsageError(`"${repoId}" is not a Hugging Face repo id; write it as owner/name (e.g. HuggingFaceTB/SmolLM2-135M-Instruct)`);
  }
  const revision = at < 0 ? 'main' : input.slice(at + 1);
  const why = revisionProblem(revision);
  if (why) throw new UsageError(`"${revision}" is not a usable revision of ${repoId}: ${why}`);
  return { repoId, revision };
}

export function formatHubRef(ref: HubRef): string {
  return ref.revision === 'main' ? ref.repoId : `${ref.repoId}@${ref.revision}`;
}

function revisionProblem(revision: string): string | null {
  if (!revision) return 'it is empty (write owner/name@branch, tag or commit)';
  if (revision.length > MAX_REVISION_LENGTH) return `it is longer than ${MAX_REVISION_LENGTH} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\s\x00-\x1f\x7f\\:~^?*[]/.test(revision)) return 'it contains a character git does not allow in a ref name';
  if (revision.split('/').some((s) => s === '' || s === '.' || s === '..' || s.startsWith('.')))
    return 'it has an empty, "." or ".." path segment';
  return null;
}
