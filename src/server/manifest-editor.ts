/**
 * `pajamas/inspectManifest`: what the manifest editor shows for a manifest's (maybe unsaved) text.
 * Its problems come from the same function as the manifest's diagnostics, so the editor and the
 * Problems panel agree; a valid manifest also gets its bits per layer (from the artifacts' headers),
 * the size-vs-KLD chart and the recommended target for its architecture.
 */
import type { Connection } from 'vscode-languageserver/node';
import { looksLikePajamasManifest } from '../core/manifest/identify';
import type { Manifest } from '../core/manifest/types';
import { recommend } from '../core/plan/recommend';
import { InspectManifestRequest, type ManifestInspection, type TextProblem } from '../protocol/manifest-editor';
import { type ManifestDiagnostics, type PlacedProblem, manifestProblems } from './diagnostics';
import { handled } from './errors';
import { artifactLayerBits } from './layer-bits';
import { chartFor } from './requests';

export function registerManifestEditorRequests(connection: Connection, diagnostics: ManifestDiagnostics): void {
  connection.onRequest(
    InspectManifestRequest,
    handled(({ path, text }) => inspectManifest(path, text, diagnostics)),
  );
}

export async function inspectManifest(path: string, text: string, diagnostics?: ManifestDiagnostics): Promise<ManifestInspection> {
  if (!looksLikePajamasManifest(text)) {
    const message = 'not a Llama-Pajamas manifest: it has neither our "$schema" nor a "manifestVersion"';
    return { valid: false, problems: [{ line: 1, column: 1, message, kind: 'schema', subject: null }] };
  }
  const placed = await manifestProblems(text, path, diagnostics?.hashProblemsOf(path) ?? []);
  const problems = placed.map(toTextProblem);
  if (placed.some((p) => p.kind !== 'file')) return { valid: false, problems };
  // No JSON or schema problem: the text is a valid manifest.
  const manifest = JSON.parse(text) as Manifest;
  return {
    valid: true,
    manifest,
    problems,
    recommendation: recommend(manifest.architecture),
    layerBits: await Promise.all(manifest.artifacts.map((a) => artifactLayerBits(path, a))),
    chartSvg: chartFor(manifest),
  };
}

function toTextProblem(p: PlacedProblem): TextProblem {
  return { line: p.range.start.line + 1, column: p.range.start.character + 1, message: p.message, kind: p.kind, subject: p.subject };
}
