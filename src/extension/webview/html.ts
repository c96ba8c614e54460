/**
 * The one way a webview gets its HTML: a strict Content-Security-Policy with a fresh nonce for the
 * bundled script, resources only from dist/webview and media/, and no data in the page: the view
 * asks for its data with a `ready` message (see ./channel.ts).
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';

/** The folders a webview may load from, relative to the extension. */
export const WEBVIEW_RESOURCE_DIRS = ['dist/webview', 'media'] as const;

export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return {
    enableScripts: true,
    localResourceRoots: WEBVIEW_RESOURCE_DIRS.map((d) => vscode.Uri.joinPath(extensionUri, d)),
  };
}

/** The page for the bundled entry `dist/webview/<entry>.js` (and its CSS, when the bundle has one). */
export function renderHtml(webview: vscode.Webview, extensionUri: vscode.Uri, entry: string, title: string): string {
  const nonce = randomBytes(16).toString('base64');
  const asset = (...parts: string[]) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', ...parts));
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    // Lit components adopt constructed stylesheets; the bundled CSS comes from the extension.
    `style-src ${webview.cspSource} 'unsafe-inline'`,
    `font-src ${webview.cspSource}`,
    // Charts arrive as SVG data URLs (images cannot run script).
    `img-src ${webview.cspSource} data:`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${asset('codicon.css').toString()}" id="vscode-codicon-stylesheet">
<link rel="stylesheet" href="${asset(`${entry}.css`).toString()}">
<title>${escapeHtml(title)}</title>
</head>
<body>
<div id="app" aria-live="polite"></div>
<script nonce="${nonce}" src="${asset(`${entry}.js`).toString()}"></script>
</body>
</html>`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
