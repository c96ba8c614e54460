/**
 * Diagnostics on Llama-Pajamas manifest.json files: JSON syntax errors, schema errors (placed on the
 * offending value), and artifact files that are missing or have another size than recorded. Hashes
 * are checked only on demand (pajamas/verify with hashes): their problems are kept here and shown
 * until the manifest changes. A manifest.json that is not ours (a web app's, a package's) gets none.
 */
import { fileURLToPath } from 'node:url';
import { type Node, type ParseError, findNodeAtLocation, parseTree, printParseErrorCode } from 'jsonc-parser';
import { type Connection, type Diagnostic, DiagnosticSeverity, type TextDocuments } from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { manifestRelative } from '../core/manifest/io';
import { manifestSchemaProblems } from '../core/manifest/schema';
import { looksLikePajamasManifest } from '../core/manifest/identify';
import type { Manifest } from '../core/manifest/types';
import { checkFile, manifestFileChecks } from '../core/manifest/verify';
import type { VerifyProblemItem } from '../protocol/worker';

export const DIAGNOSTIC_SOURCE = 'Llama-Pajamas';
/** Edits are checked this long after typing stops. */
const DEBOUNCE_MS = 300;

export function isManifestUri(uri: string): boolean {
  return uri.startsWith('file:') && /\/manifest\.json$/i.test(uri);
}

export class ManifestDiagnostics {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Hash problems from the last on-demand verification, by manifest path. */
  private readonly hashProblems = new Map<string, VerifyProblemItem[]>();

  constructor(
    private readonly connection: Connection,
    private readonly documents: TextDocuments<TextDocument>,
  ) {}

  schedule(doc: TextDocument, delayMs = DEBOUNCE_MS): void {
    if (!isManifestUri(doc.uri)) return;
    clearTimeout(this.timers.get(doc.uri));
    this.timers.set(
      doc.uri,
      setTimeout(() => {
        this.timers.delete(doc.uri);
        void this.publish(doc.uri);
      }, delayMs),
    );
  }

  /** A file changed on disk: re-check every open manifest (an artifact may have appeared or gone). */
  recheckAll(): void {
    for (const doc of this.documents.all()) this.schedule(doc);
  }

  changed(doc: TextDocument): void {
    this.hashProblems.delete(fileURLToPath(doc.uri));
    this.schedule(doc);
  }

  closed(uri: string): void {
    clearTimeout(this.timers.get(uri));
    this.timers.delete(uri);
    if (isManifestUri(uri)) void this.connection.sendDiagnostics({ uri, diagnostics: [] });
  }

  /**
   * Records the outcome of a hashing verification so its problems show on the manifest. A check of
   * some artifacts (`subjects`) replaces only their problems.
   */
  recordVerification(manifestPath: string, problems: VerifyProblemItem[], subjects?: readonly string[]): void {
    const kept = subjects ? (this.hashProblems.get(manifestPath) ?? []).filter((p) => !subjects.includes(p.subject)) : [];
    this.hashProblems.set(manifestPath, [...kept, ...problems]);
    const doc = this.documents.all().find((d) => isManifestUri(d.uri) && fileURLToPath(d.uri) === manifestPath);
    if (doc) this.schedule(doc, 0);
  }

  /** The hash problems of the last verification of a manifest (by path). */
  hashProblemsOf(manifestPath: string): VerifyProblemItem[] {
    return this.hashProblems.get(manifestPath) ?? [];
  }

  async publish(uri: string): Promise<void> {
    const doc = this.documents.get(uri);
    if (!doc) return;
    const diagnostics = await manifestDiagnostics(doc.getText(), fileURLToPath(uri), this.hashProblems.get(fileURLToPath(uri)) ?? []);
    // The document may have changed or closed while files were checked.
    if (this.documents.get(uri)?.version !== doc.version) return;
    await this.connection.sendDiagnostics({ uri, version: doc.version, diagnostics });
  }
}

/** A problem of a manifest's text with its place; `subject` names the artifact of a file problem. */
export interface PlacedProblem {
  range: Diagnostic['range'];
  message: string;
  kind: 'json' | 'schema' | 'file';
  subject: string | null;
}

/** The diagnostics of one manifest text; `file` is where it lives (artifact paths are relative to it). */
export async function manifestDiagnostics(text: string, file: string, hashProblems: VerifyProblemItem[] = []): Promise<Diagnostic[]> {
  return (await manifestProblems(text, file, hashProblems)).map((p) => diagnostic(p.range, p.message));
}

/**
 * What is wrong with one manifest text: JSON syntax errors, else schema errors, else the files it
 * lists that are missing or resized (and the hash problems of the last verification). Also the
 * manifest editor's source of problems, so the editor and the Problems panel always agree.
 */
export async function manifestProblems(text: string, file: string, hashProblems: VerifyProblemItem[] = []): Promise<PlacedProblem[]> {
  if (!looksLikePajamasManifest(text)) return [];
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: false, disallowComments: true });
  const doc = TextDocument.create('file:///manifest.json', 'json', 0, text);
  const at = (offset: number, length: number): Diagnostic['range'] => ({
    start: doc.positionAt(offset),
    end: doc.positionAt(offset + Math.max(length, 1)),
  });
  if (errors.length || !root) {
    return errors.map((e) => ({
      range: at(e.offset, e.length),
      message: `JSON: ${printParseErrorCode(e.error)}`,
      kind: 'json' as const,
      subject: null,
    }));
  }
  const value = JSON.parse(text) as unknown;
  const schema = manifestSchemaProblems(value);
  if (schema.length) {
    return schema.map((p) => {
      const node = nodeAt(root, pointerSegments(p.pointer));
      return {
        range: at(node.offset, node.length),
        message: `${p.pointer || 'manifest'} ${p.message}`,
        kind: 'schema' as const,
        subject: null,
      };
    });
  }
  const out: PlacedProblem[] = [];
  const add = (location: (string | number)[], subject: string, path: string, problem: string) => {
    const node = nodeAt(root, location);
    out.push({ range: at(node.offset, node.length), message: fileProblem(subject, path, problem), kind: 'file', subject });
  };
  for (const check of manifestFileChecks(value as Manifest)) {
    const problem = await checkFile(manifestRelative(file, check.digest.path), check.digest, { hashes: false });
    if (problem) add(check.location, check.subject, check.digest.path, problem);
  }
  for (const p of hashProblems) add(p.location, p.subject, p.file, p.message);
  return out;
}

/** "gone.gguf is missing (artifact x)", "a.gguf: size is 44 bytes, the manifest says 3 (artifact y)" */
function fileProblem(subject: string, file: string, problem: string): string {
  const whose = subject === 'baseline' || subject === 'calibration' ? subject : `artifact ${subject}`;
  return problem === 'missing' ? `${file} is missing (${whose})` : `${file}: ${problem} (${whose})`;
}

function diagnostic(range: Diagnostic['range'], message: string): Diagnostic {
  return { range, message, severity: DiagnosticSeverity.Error, source: DIAGNOSTIC_SOURCE };
}

/** The node at `location`, or its nearest existing ancestor. */
function nodeAt(root: Node, location: (string | number)[]): Node {
  for (let n = location.length; n >= 0; n--) {
    const node = findNodeAtLocation(root, location.slice(0, n));
    if (node) return node;
  }
  return root;
}

/** "/artifacts/0/path" -> ["artifacts", 0, "path"] (RFC 6901 escapes undone). */
export function pointerSegments(pointer: string): (string | number)[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}
