/**
 * Telling a Llama-Pajamas manifest.json from the many other files of that name (web app manifests,
 * browser extensions, build tools): by our `$schema` id or our `manifestVersion` field. Text only,
 * so a manifest whose JSON is broken is still recognised as ours (and its errors reported), and
 * nothing heavier than this module is loaded to decide.
 */
import { MANIFEST_SCHEMA_ID } from './types';

export function looksLikePajamasManifest(text: string): boolean {
  return text.includes(MANIFEST_SCHEMA_ID) || /"manifestVersion"\s*:/.test(text);
}
