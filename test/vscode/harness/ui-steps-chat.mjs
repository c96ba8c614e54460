// UI steps of the chat view (ui-workbench.mjs has the ways of reaching the UI they use): "Chat" in the
// manifest editor opens the chat view with that artifact loaded, a prompt typed in the view gets a reply
// that streams in with its figures under it, hostile markup in a reply is shown as text (nothing of it
// runs or becomes an element), and the conversation survives hiding the view and reloading the window.
// Screenshots go to test-output/vscode/. Greedy parity with `pajamas run`, Stop, memory and the host's
// stalls are checked in the in-host suite (suite/chat.test.ts).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { GENERATED } from './artifact-fixtures.mjs';
import { READY_MS, WAIT_MS } from './ui-workbench.mjs';

const ARTIFACT = 'pajama-tiny-gqa-Q8_0-pajamas';
const PROMPT = 'Once upon a time there was a little pajama.';
const REPLY_MS = 120_000;
/** A reply a model could write: an image with a handler, a script, a javascript: link, raw HTML. */
const HOSTILE = [
  'Here you go: <img src=x onerror="window.__pwned = \'img\'"> and <script>window.__pwned = "script"</script>',
  '',
  '[click me](javascript:window.__pwned="link") <b onclick="window.__pwned=1">bold?</b>',
  '',
  '```html',
  '<script>alert(1)</script>',
  '```',
].join('\n');

function haveFixtures(wb) {
  if (existsSync(path.join(wb.workspace, GENERATED, 'manifest.json'))) return true;
  if (process.env.PAJAMAS_REQUIRE_SHARED === '1') throw new Error(`${GENERATED}/ is missing from the workspace`);
  wb.log(`skipped: ${GENERATED}/ is missing (no ../shared)`);
  return false;
}

/** The chat view's page (its frame), once it shows the composer. */
const chatFrame = (wb, timeoutMs) => wb.webviewFrame('textarea#prompt', timeoutMs);

/** Sets a number field of the settings row (opening the row if needed). */
async function setNumber(frame, id, value) {
  const details = frame.locator('details.settings');
  if (!(await details.evaluate((d) => d.open))) await frame.locator('details.settings summary').click();
  await frame.locator(`#${id} input`).fill(String(value));
  await frame.locator(`#${id} input`).press('Tab');
}

export const CHAT_STEPS = [
  {
    name: 'Chat in the manifest editor opens the chat view; a reply streams in with its figures',
    async run(wb) {
      if (!haveFixtures(wb)) return;
      await wb.quickOpen(`${GENERATED}/manifest.json`);
      const editor = await wb.webviewFrame('table.artifacts');
      await editor.locator(`tr[data-artifact="${ARTIFACT}"] .row-actions >> text=Chat`).click();
      const frame = await chatFrame(wb);
      await frame.locator('.session[data-state="ready"]').waitFor({ timeout: REPLY_MS });
      await wb.runFromPalette('View: Close All Editors');
      await wb.widenSideBar(520);
      await setNumber(frame, 'max-tokens', 200);
      await setNumber(frame, 'temperature', 0.7);
      await frame.locator('#new-chat').click();
      await frame.locator('textarea#prompt').fill(PROMPT);
      await frame.locator('textarea#prompt').press('Enter');
      // Streaming: the reply shows text while it is still pending (the cursor follows the text).
      const streaming = frame.locator('.turn.assistant.pending .reply-body .cursor');
      const sawStreaming = await streaming.waitFor({ timeout: REPLY_MS }).then(
        () => true,
        () => false,
      );
      if (sawStreaming) await wb.shot('chat-streaming');
      const stats = frame.locator('.turn.assistant:not(.pending) .stats');
      await stats.waitFor({ timeout: REPLY_MS });
      if (!sawStreaming) throw new Error('the reply never showed as streaming (text with the cursor while pending)');
      const figures = await stats.textContent();
      for (const part of ['tokens/s', 'first token', 'context', 'memory'])
        if (!figures.includes(part)) throw new Error(`the figures under the reply lack "${part}": ${figures}`);
      const reply = (await frame.locator('.turn.assistant .reply-body').last().textContent()).trim();
      if (!reply) throw new Error('the reply is empty');
      wb.log(`reply: ${JSON.stringify(reply.slice(0, 80))}…; ${figures}`);
      await wb.shot('chat');
    },
  },
  {
    name: 'chat: hostile markup in a reply is shown as text and nothing of it runs',
    async run(wb) {
      if (!haveFixtures(wb)) return;
      const frame = await chatFrame(wb);
      // The host's message to the view, as the view gets it (a `state` with a reply holding the markup).
      const rendered = await frame.evaluate(async (text) => {
        const turns = [
          { id: 'hostile-user', role: 'user', text: 'Show me some HTML' },
          { id: 'hostile', role: 'assistant', text, model: 'hostile', stopReason: 'eos' },
        ];
        const state = {
          models: [],
          modelsNote: null,
          session: { state: 'none' },
          turns,
          settings: { systemPrompt: '', temperature: 0, topP: 1, maxTokens: 40 },
          droppedTurns: 0,
          busy: false,
        };
        window.dispatchEvent(new MessageEvent('message', { data: { type: 'state', state } }));
        await new Promise((r) => setTimeout(r, 500)); // an onerror would have fired by now
        const body = document.querySelector('[data-turn="hostile"] .reply-body');
        return {
          text: body?.textContent ?? null,
          elements: body
            ? [...body.querySelectorAll('img, script, b, [onclick], [onerror], a[href^="javascript"]')].map((e) => e.outerHTML)
            : [],
          pwned: window.__pwned ?? null,
        };
      }, HOSTILE);
      await wb.shot('chat-hostile-markup');
      if (rendered.text === null) throw new Error('the hostile reply was not rendered');
      if (rendered.pwned !== null) throw new Error(`model output ran in the view (${rendered.pwned})`);
      if (rendered.elements.length) throw new Error(`model output became elements: ${rendered.elements.join(' ')}`);
      for (const shown of ['<img src=x onerror=', '<script>window.__pwned', '<b onclick=', '<script>alert(1)</script>'])
        if (!rendered.text.includes(shown)) throw new Error(`"${shown}" is not shown as text: ${rendered.text}`);
    },
  },
  {
    name: 'chat: the conversation survives hiding the view and reloading the window',
    async run(wb) {
      if (!haveFixtures(wb)) return;
      const userTurn = (frame) => frame.locator('.turn.user .bubble', { hasText: PROMPT });
      // Hide: another view container takes the side bar (the chat page is discarded), then come back.
      await wb.page.keyboard.press('Control+Shift+E');
      await wb.explorerRow(GENERATED).waitFor({ timeout: WAIT_MS });
      await wb.openPajamasView();
      let frame = await chatFrame(wb);
      await userTurn(frame).waitFor({ timeout: WAIT_MS });
      if (await frame.locator('[data-turn="hostile"]').count())
        throw new Error('the view shows the injected turn after a reload of its page');
      await frame.locator('.turn.assistant .stats').first().waitFor({ timeout: WAIT_MS });
      await wb.runFromPalette('Developer: Reload Window');
      await wb.page.locator('.monaco-workbench').waitFor({ timeout: READY_MS });
      await wb.openPajamasView();
      frame = await chatFrame(wb, READY_MS);
      await userTurn(frame).waitFor({ timeout: WAIT_MS });
      await frame.locator('.turn.assistant .reply-body').first().waitFor({ timeout: WAIT_MS });
      await wb.shot('chat-after-reload');
    },
  },
];
