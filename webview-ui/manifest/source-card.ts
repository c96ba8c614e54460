/** Where the artifacts came from: the source model (path or Hub repo, revision, file hashes), the tools, calibration and baseline. */
import type { Manifest } from '../../src/protocol/core-types';
import { el } from '../lib/dom';
import { formatBytes, formatNumber } from '../lib/format';

const SOURCE_KIND: Record<Manifest['source']['kind'], string> = {
  'hf-folder': 'Hugging Face folder',
  gguf: 'GGUF file',
  hub: 'Hugging Face Hub',
};

export function sourceCard(m: Manifest): HTMLElement {
  const s = m.source;
  const facts: [string, string][] = [['Kind', SOURCE_KIND[s.kind]]];
  if (s.repoId) facts.push(['Repository', s.repoId]);
  if (s.revision) facts.push(['Revision', s.revision]);
  facts.push(['Path', s.path]);
  facts.push([
    'Tools',
    `Llama-Pajamas ${m.tools.llamaPajamas}, llama.cpp ${m.tools.llamaCpp.release}` +
      `${m.tools.nodeLlamaCpp ? `, node-llama-cpp ${m.tools.nodeLlamaCpp}` : ''}`,
  ]);
  facts.push(['Created', `${m.createdAt}${m.updatedAt !== m.createdAt ? ` (updated ${m.updatedAt})` : ''}`]);
  if (m.calibration)
    facts.push([
      'Calibration',
      `${m.calibration.text.name}, ${m.calibration.chunks} chunks (importance matrix ${m.calibration.imatrix.path})`,
    ]);
  if (m.baseline) {
    const q = m.baseline.quality;
    facts.push([
      'Baseline',
      `${m.baseline.path}${m.baseline.kept ? '' : ' (not kept)'}${q ? `, F16 perplexity ${formatNumber(q.ppl, 5)} on ${q.text.name}` : ''}`,
    ]);
  }
  const list = el('dl', { class: 'facts' });
  for (const [label, value] of facts) list.append(el('dt', {}, label), el('dd', {}, value));
  const files = s.files.length
    ? el(
        'details',
        { class: 'source-files' },
        el('summary', {}, `${s.files.length} source file${s.files.length === 1 ? '' : 's'} with SHA-256`),
        el(
          'table',
          {},
          el('thead', {}, el('tr', {}, el('th', {}, 'File'), el('th', {}, 'Size'), el('th', {}, 'SHA-256'))),
          el(
            'tbody',
            {},
            ...s.files.map((f) =>
              el(
                'tr',
                {},
                el('td', { class: 'mono' }, f.path),
                el('td', { class: 'num' }, formatBytes(f.sizeBytes)),
                el('td', { class: 'mono hash' }, f.sha256),
              ),
            ),
          ),
        ),
      )
    : null;
  return el('section', { class: 'card source', 'aria-label': 'Source model' }, el('h2', {}, 'Source model'), list, files);
}
