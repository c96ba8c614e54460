/**
 * What the in-host test files share: the extension and its testing API, the test workspace, the
 * shared models (skipped when absent, failing under PAJAMAS_REQUIRE_SHARED=1), package.json's
 * contributions, and waiting for a condition.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import type { PajamasApi, PajamasTesting } from '../../../src/extension/api';

export const EXTENSION_ID = 'llama-pajamas.llama-pajamas';

export interface PackageJson {
  activationEvents: string[];
  contributes: {
    commands: { command: string; title: string; category?: string }[];
    menus: Record<string, { command: string; when?: string; group?: string }[]>;
    views: Record<string, { id: string; name: string }[]>;
    viewsContainers: { activitybar: { id: string; title: string; icon: string }[] };
    configuration: { properties: Record<string, { enum?: string[]; default?: unknown; items?: { enum?: string[] } }> };
  };
}

export async function activated(): Promise<{ extension: vscode.Extension<PajamasApi>; api: PajamasApi; testing: PajamasTesting }> {
  const extension = vscode.extensions.getExtension<PajamasApi>(EXTENSION_ID);
  assert.ok(extension, `extension ${EXTENSION_ID} is not loaded`);
  const api = await extension.activate();
  assert.ok(api.testing, 'the extension exposes no testing API (is it running in production mode?)');
  return { extension, api, testing: api.testing };
}

export function packageJson(extension: vscode.Extension<unknown>): PackageJson {
  return extension.packageJSON as PackageJson;
}

export function workspaceRoot(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'no workspace folder: open a copy of test/vscode/workspace (test/vscode/run.mjs does)');
  return folder.uri.fsPath;
}

export function workspaceUri(relative: string, mustExist = true): vscode.Uri {
  const uri = vscode.Uri.file(path.join(workspaceRoot(), relative));
  if (mustExist) assert.ok(existsSync(uri.fsPath), `${uri.fsPath} is missing: open a copy of test/vscode/workspace`);
  return uri;
}

/** A path under ../shared, or skips (fails under PAJAMAS_REQUIRE_SHARED=1) when absent. */
export function sharedPath(ctx: Mocha.Context, extension: vscode.Extension<unknown>, relative: string): string {
  const root = process.env.PAJAMAS_SHARED_DIR ?? path.resolve(extension.extensionPath, '..', 'shared');
  const p = path.join(root, relative);
  if (existsSync(p)) return p;
  const message = `needs ../shared/${relative}, which is not present`;
  if (process.env.PAJAMAS_REQUIRE_SHARED === '1') assert.fail(`${message}; PAJAMAS_REQUIRE_SHARED=1 makes this a failure`);
  ctx.skip();
  return p;
}

/** A workspace model the harness copies from ../shared (test/vscode/run.mjs), or skips like sharedPath. */
export function copiedModel(ctx: Mocha.Context, relative: string): string {
  const p = path.join(workspaceRoot(), relative);
  if (existsSync(p)) return p;
  const message = `needs ${relative} in the test workspace, which the harness copies from ../shared (not present)`;
  if (process.env.PAJAMAS_REQUIRE_SHARED === '1') assert.fail(`${message}; PAJAMAS_REQUIRE_SHARED=1 makes this a failure`);
  ctx.skip();
  return p;
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A figure the closing note reports: printed in the suite's output with a recognisable prefix. */
export function reportFigure(name: string, value: string): void {
  console.log(`FIGURE ${name}: ${value}`);
}
