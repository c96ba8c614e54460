/**
 * The manifest editor (a custom editor for Llama-Pajamas manifest.json files): the worker request
 * that reads a manifest's text for it, and the messages between the extension host and its
 * webview. The view starts with `ready`; the host answers `init` and then sends `doc` whenever the
 * text changes and `verify` while a verification runs. The host checks every message on arrival
 * with `isManifestViewMessage`; the view switches on `type` exhaustively.
 */
import { RequestType } from 'vscode-jsonrpc';
import type { Progress } from '../core/job';
import type { Manifest } from '../core/manifest/types';
import type { Recommendation } from '../core/plan/recommend';
import type { WorkerErrorData } from './errors';

export const MANIFEST_EDITOR_VIEW_TYPE = 'pajamas.manifestEditor';

/** A problem of the manifest's text, placed where the text editor would show it. */
export interface TextProblem {
  /** 1-based, as editors number lines. */
  line: number;
  column: number;
  message: string;
  /** json: syntax; schema: breaks the manifest schema; file: an artifact file is missing, resized or changed. */
  kind: 'json' | 'schema' | 'file';
  /** The artifact a file problem belongs to ("baseline" and "calibration" for those files), else null. */
  subject: string | null;
}

/** Bits per weight of each decoder layer of one artifact, read from its file headers. */
export interface LayerBits {
  artifactId: string;
  /** Index = layer number; null for a layer without tensors in the file. */
  layers: (number | null)[];
  /** Tensors outside the blocks (embeddings, output head, norms). */
  outside: number | null;
  /** Why the headers could not be read (the file is missing, say), else null. */
  error: string | null;
}

// ---- pajamas/inspectManifest (worker) ------------------------------------------------------

export interface InspectManifestParams {
  /** Where the manifest lives: artifact paths are relative to it. */
  path: string;
  /** The text as the editor has it (maybe unsaved). */
  text: string;
}

export type ManifestInspection =
  | { valid: false; problems: TextProblem[] }
  | {
      valid: true;
      manifest: Manifest;
      /** File problems (missing or resized artifacts; hash mismatches after a verify). */
      problems: TextProblem[];
      recommendation: Recommendation;
      layerBits: LayerBits[];
      /** Size against mean KL divergence (SVG text), when an artifact has a KLD. */
      chartSvg: string | null;
    };

export const InspectManifestRequest = new RequestType<InspectManifestParams, ManifestInspection, WorkerErrorData>(
  'pajamas/inspectManifest',
);

// ---- the webview ---------------------------------------------------------------------------

export interface ManifestDocView {
  path: string;
  /** null while the worker reads it the first time. */
  inspection: ManifestInspection | null;
  /** The text in the editor differs from the file on disk. */
  dirty: boolean;
  /** Why the worker could not read it at all (it stopped, say). */
  error: string | null;
}

export type VerifyOutcome = { state: 'running' } | { state: 'ok'; hashed: boolean } | { state: 'problem'; messages: string[] };

export interface VerifyView {
  /** The artifacts being verified (ids); empty when none. */
  running: string[];
  progress: Progress | null;
  /** The last outcome per artifact id. */
  outcomes: Record<string, VerifyOutcome>;
  /** Why the last verification failed as a whole (not a file problem), else null. */
  error: string | null;
}

export type ManifestViewToHost =
  | { type: 'ready' }
  /** artifactId null: every artifact. */
  | { type: 'verify'; artifactId: string | null }
  | { type: 'chat'; artifactId: string }
  /** artifactId null: the manifest's folder. */
  | { type: 'reveal'; artifactId: string | null }
  | { type: 'reevaluate' }
  | { type: 'openAsJson'; line: number | null };

export type ManifestHostToView =
  | { type: 'init'; doc: ManifestDocView; verify: VerifyView }
  | { type: 'doc'; doc: ManifestDocView }
  | { type: 'verify'; verify: VerifyView };

type Fields = Record<string, unknown>;
const isObject = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** The host's check of every message the view sends (a webview is untrusted input). */
export function isManifestViewMessage(m: unknown): m is ManifestViewToHost {
  if (!isObject(m) || typeof m.type !== 'string') return false;
  switch (m.type) {
    case 'ready':
    case 'reevaluate':
      return true;
    case 'verify':
    case 'reveal':
      return m.artifactId === null || isId(m.artifactId);
    case 'chat':
      return isId(m.artifactId);
    case 'openAsJson':
      return m.line === null || (Number.isSafeInteger(m.line) && (m.line as number) >= 1);
    default:
      return false;
  }
}
