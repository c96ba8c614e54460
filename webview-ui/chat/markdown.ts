/**
 * Model output as Markdown, safely. markdown-it with `html: false` escapes every tag the model
 * writes (so `<script>` or `<img onerror=...>` come out as text), images are switched off (no
 * fetches from model-chosen URLs), and DOMPurify sanitises the result once more into a detached
 * fragment: two well-kept libraries, each enough on its own, instead of a hand-written escaper.
 * Nothing from the model reaches innerHTML of a live element, and nothing it writes ever runs.
 * Code blocks get a copy button (the text goes to the host, which owns the clipboard).
 */
import DOMPurify from 'dompurify';
import MarkdownIt from 'markdown-it';
import { el } from '../lib/dom';

const md = new MarkdownIt({ html: false, linkify: false, typographer: false, breaks: true }).disable('image');

/** What DOMPurify may keep: what markdown-it makes from Markdown, nothing else. */
const ALLOWED_TAGS = [
  'p',
  'br',
  'hr',
  'strong',
  'em',
  's',
  'code',
  'pre',
  'blockquote',
  'ul',
  'ol',
  'li',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'a',
  'table',
  'thead',
  'tbody',
  'tr',
  'th',
  'td',
];
const ALLOWED_ATTR = ['href', 'title', 'class', 'start', 'align'];

export function renderMarkdown(text: string, copy: (code: string) => void): DocumentFragment {
  const fragment = DOMPurify.sanitize(md.render(text), {
    ALLOWED_TAGS,
    ALLOWED_ATTR,
    ALLOWED_URI_REGEXP: /^https?:/i,
    RETURN_DOM_FRAGMENT: true,
  });
  for (const pre of Array.from(fragment.querySelectorAll('pre'))) {
    const code = pre.querySelector('code');
    const language = /language-([\w+-]+)/.exec(code?.className ?? '')?.[1] ?? '';
    const button = el(
      'button',
      { class: 'copy-code', type: 'button', title: 'Copy the code' },
      el('span', { class: 'codicon codicon-copy' }),
      ' Copy',
    );
    button.addEventListener('click', () => copy(code?.textContent ?? pre.textContent ?? ''));
    const head = el('div', { class: 'code-head' }, el('span', { class: 'code-lang' }, language), button);
    const block = el('div', { class: 'code-block' }, head);
    pre.replaceWith(block);
    block.append(pre);
  }
  for (const a of Array.from(fragment.querySelectorAll('a'))) a.setAttribute('rel', 'noreferrer noopener');
  return fragment;
}
