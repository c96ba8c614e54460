/**
 * Hover on a model's config.json: over any property name, the detected architecture (the same
 * block as `pajamas detect`) and the recommended target. Detection reads the saved file, so an
 * edited, unsaved document says so. A config.json that names no model type (another tool's file)
 * gets no hover.
 */
import { fileURLToPath } from 'node:url';
import { type Hover, MarkupKind, type Position, type TextDocuments } from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { detectArchitecture } from '../core/arch/detect';
import { formatArchitecture } from '../core/arch/format';
import type { ArchitectureInfo } from '../core/arch/types';
import { asPajamasError } from '../core/errors';
import { recommend } from '../core/plan/recommend';

/** Detections kept, keyed by path and document version. */
const CACHE_LIMIT = 32;

export function isModelConfigUri(uri: string): boolean {
  return uri.startsWith('file:') && /\/config\.json$/i.test(uri);
}

/** True when the position is inside a JSON property name ("key" followed by a colon). */
export function onPropertyName(line: string, character: number): boolean {
  for (const m of line.matchAll(/"((?:[^"\\]|\\.)*)"\s*:/g)) {
    const start = m.index;
    const end = start + m[1]!.length + 2;
    if (character >= start && character <= end) return true;
  }
  return false;
}

export class ConfigHover {
  private readonly cache = new Map<string, Promise<ArchitectureInfo>>();

  constructor(private readonly documents: TextDocuments<TextDocument>) {}

  async hover(uri: string, position: Position): Promise<Hover | null> {
    const doc = this.documents.get(uri);
    if (!doc || !isModelConfigUri(uri)) return null;
    const line = doc.getText({ start: { line: position.line, character: 0 }, end: { line: position.line + 1, character: 0 } });
    if (!onPropertyName(line, position.character)) return null;
    if (!/"(model_type|architectures)"\s*:/.test(doc.getText())) return null;
    const file = fileURLToPath(uri);
    try {
      const arch = await this.detect(file, doc.version);
      return { contents: { kind: MarkupKind.Markdown, value: hoverMarkdown(arch) } };
    } catch (error) {
      const message = asPajamasError(error).message;
      return { contents: { kind: MarkupKind.Markdown, value: `**Llama-Pajamas** cannot read this model: ${escapeMarkdown(message)}` } };
    }
  }

  private detect(file: string, version: number): Promise<ArchitectureInfo> {
    const key = `${file}@${version}`;
    let pending = this.cache.get(key);
    if (!pending) {
      if (this.cache.size >= CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value!);
      pending = detectArchitecture(file);
      pending.catch(() => this.cache.delete(key));
      this.cache.set(key, pending);
    }
    return pending;
  }
}

export function hoverMarkdown(arch: ArchitectureInfo): string {
  const r = recommend(arch);
  return [
    '**Llama-Pajamas**: detected architecture',
    '',
    '```text',
    formatArchitecture(arch),
    '```',
    '',
    `Recommended GGUF target: **${r.ggufMethod}**, ${escapeMarkdown(r.why.replace(/^[A-Z0-9_]+: /, ''))}`,
  ].join('\n');
}

function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]<>#|]/g, (c) => `\\${c}`);
}
