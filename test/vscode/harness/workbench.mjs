// Opening the VS Code web workbench of a running code-server in headless Chromium.
import path from 'node:path';
import util from 'node:util';
import { chromium } from 'playwright-core';

/** Without the networking flags Chromium keeps trying to reach Google's hosts, which this machine refuses. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** Chromium with its profile, caches and crash database under `scratch`, not in $HOME. */
export function launchBrowser(executablePath, scratch) {
  const env = { ...process.env, HOME: scratch, XDG_CONFIG_HOME: path.join(scratch, 'config'), XDG_CACHE_HOME: path.join(scratch, 'cache') };
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS, env });
}

/** The authority of `vscode-remote://` URIs: "remote" for code-server, host:port for a plain VS Code server. */
async function remoteAuthority(base) {
  const html = await (await fetch(`${base}/`)).text();
  const m = /id="vscode-workbench-web-configuration" data-settings="([^"]*)"/.exec(html);
  if (!m) throw new Error(`${base}/ is not a VS Code workbench page`);
  const settings = JSON.parse(
    m[1]
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&amp;/g, '&'),
  );
  return settings.remoteAuthority;
}

/**
 * The workbench URL for `folder`, with the development-extension payload that stands in for
 * `--extensionDevelopmentPath` / `--extensionTestsPath` (code-server's CLI has neither); without
 * them the workbench runs the installed extensions only.
 */
export async function workbenchUrl(base, { folder, extensionDevelopmentPath, extensionTestsPath }) {
  const authority = await remoteAuthority(base);
  const remote = (p) => `vscode-remote://${authority}${p}`;
  const payload = [
    ...(extensionDevelopmentPath ? [['extensionDevelopmentPath', remote(extensionDevelopmentPath)]] : []),
    ...(extensionTestsPath ? [['extensionTestsPath', remote(extensionTestsPath)]] : []),
    ['skipWelcome', 'true'],
    ['skipReleaseNotes', 'true'],
  ];
  return `${base}/?folder=${encodeURIComponent(folder)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

/**
 * Runs the extension's mocha suite in the real (Node) remote extension host: the workbench loads
 * `extensionTestsPath`, calls its `run()`, and reports the exit code through `codeAutomationExit`.
 */
export async function runHostSuite(browser, url, { timeoutMs, verbose, print }) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    let resolveExit;
    const exited = new Promise((r) => {
      resolveExit = r;
    });
    await page.exposeFunction('codeAutomationExit', (code) => resolveExit(code));
    await page.exposeFunction('codeAutomationLog', (type, args) => {
      if (['log', 'info', 'warn', 'error'].includes(type)) print(util.format(...args));
    });
    if (verbose) page.on('console', (m) => print(`[browser] ${m.text()}`));
    await page.goto(url, { timeout: 120_000, waitUntil: 'domcontentloaded' });
    let timer;
    const timedOut = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the in-host suite did not finish within ${timeoutMs / 1000}s`)), timeoutMs);
    });
    try {
      return await Promise.race([exited, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await context.close().catch(() => {});
  }
}
