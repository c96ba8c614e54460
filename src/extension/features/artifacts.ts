/**
 * Commands on artifact folders (a folder with a Llama-Pajamas manifest.json) and artifacts: verify
 * every file's size and SHA-256, evaluate quality against F16, open the manifest, reveal a file.
 * Verify and evaluate run as worker jobs with a cancellable notification.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import * as vscode from 'vscode';
import { MANIFEST_FILE } from '../../core/manifest/types';
import { EvaluateRequest, VerifyRequest, type VerifyResult } from '../../protocol/worker';
import type { Ctx } from '../ctx';
import { activeFile, pathsFromArgs, pickManifest, toLocalPath } from '../pick';

const isManifest = (p: string) => path.basename(p) === MANIFEST_FILE;

/** The manifest.json an argument points at (the file, or the folder holding it), else a picker. */
async function manifestFromArgs(args: unknown[], title: string): Promise<string | undefined> {
  const [given] = pathsFromArgs(args, 'an artifact folder or its manifest.json');
  const chosen = given ?? activeFile(isManifest) ?? (await pickManifest(title));
  if (!chosen) return undefined;
  const info = await stat(chosen).catch(() => null);
  return info?.isDirectory() ? path.join(chosen, MANIFEST_FILE) : chosen;
}

export async function verifyArtifacts(ctx: Ctx, ...args: unknown[]): Promise<VerifyResult | undefined> {
  const manifest = await manifestFromArgs(args, 'Verify Artifacts');
  if (!manifest) return undefined;
  const folder = path.basename(path.dirname(manifest));
  const { result } = ctx.jobs.start({
    kind: 'verify',
    title: `Verifying ${folder}`,
    send: (jobId) => ctx.worker.request(VerifyRequest, { jobId, manifest, hashes: true }, `verifying ${folder}`),
  });
  const report = await result;
  if (!report.problems.length) {
    void vscode.window.showInformationMessage(`${folder}: all ${report.filesChecked} files match the manifest (sizes and SHA-256).`);
    ctx.output.log(`Verify ${manifest}: ${report.filesChecked} files match`);
    return report;
  }
  for (const p of report.problems) ctx.output.error(`Verify ${folder}: ${p.subject}: ${p.file}: ${p.message}`);
  // Not awaited: the command is over; the notification stays until the user answers it.
  void vscode.window
    .showErrorMessage(
      `${folder}: ${report.problems.length} of ${report.filesChecked} files do not match the manifest.`,
      'Open Manifest',
      'Show Log',
    )
    .then(async (choice) => {
      if (choice === 'Open Manifest') await openManifest(ctx, manifest);
      else if (choice === 'Show Log') ctx.output.show();
    });
  return report;
}

export async function evaluateArtifacts(ctx: Ctx, ...args: unknown[]): Promise<unknown> {
  const manifest = await manifestFromArgs(args, 'Evaluate Artifacts');
  if (!manifest) return undefined;
  const folder = path.basename(path.dirname(manifest));
  const { result } = ctx.jobs.start({
    kind: 'evaluate',
    title: `Evaluating ${folder}`,
    send: (jobId) => ctx.worker.request(EvaluateRequest, { jobId, input: manifest, gate: false }, `evaluating ${folder}`),
  });
  const report = await result;
  for (const a of report.artifacts) {
    const top1 = a.top1 === null ? '-' : `${(a.top1 * 100).toFixed(1)}%`;
    ctx.output.log(`  ${a.id}: PPL ${a.ppl.toFixed(4)}, mean KLD ${a.kldMean?.toFixed(5) ?? '-'}, top-1 ${top1}`);
  }
  void vscode.window.showInformationMessage(
    `${folder}: evaluated ${report.artifacts.length} artifact(s); the results are in the manifest and the Pajamas view.`,
  );
  return report;
}

export async function openManifest(_ctx: Ctx, ...args: unknown[]): Promise<vscode.TextEditor | undefined> {
  const manifest = await manifestFromArgs(args, 'Open Manifest');
  if (!manifest) return undefined;
  return vscode.window.showTextDocument(vscode.Uri.file(manifest), { preview: false });
}

/** Shows a file or folder: in the Explorer when it is in the workspace, else in the OS file manager. */
export async function reveal(_ctx: Ctx, ...args: unknown[]): Promise<void> {
  const uri = vscode.Uri.file(toLocalPath(args[0], 'a file or folder to reveal'));
  if (vscode.workspace.getWorkspaceFolder(uri)) await vscode.commands.executeCommand('revealInExplorer', uri);
  else await vscode.commands.executeCommand('revealFileInOS', uri);
}
