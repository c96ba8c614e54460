/**
 * "Set Hugging Face Token" / "Clear Hugging Face Token": the token goes to SecretStorage (see
 * state.ts) and reaches the worker through its environment; it is never written to settings or logs.
 */
import * as vscode from 'vscode';
import type { Ctx } from '../ctx';

/** Hugging Face user access tokens: "hf_" and letters/digits; older ones have no prefix. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{8,}$/;

export async function setHuggingFaceToken(ctx: Ctx): Promise<boolean> {
  const token = await vscode.window.showInputBox({
    title: 'Hugging Face token',
    prompt: 'A user access token (huggingface.co/settings/tokens). It is kept in VS Code secret storage, never in settings.',
    password: true,
    ignoreFocusOut: true,
    validateInput: (v) =>
      TOKEN_SHAPE.test(v.trim()) ? null : 'A token is at least 8 letters, digits, "_" or "-" (they start with "hf_").',
  });
  if (token === undefined) return false;
  await ctx.state.setHuggingFaceToken(token.trim());
  ctx.output.log('Hugging Face token saved in secret storage');
  void vscode.window.showInformationMessage('Hugging Face token saved in VS Code secret storage.');
  return true;
}

export async function clearHuggingFaceToken(ctx: Ctx): Promise<void> {
  await ctx.state.setHuggingFaceToken(undefined);
  ctx.output.log('Hugging Face token removed from secret storage');
  void vscode.window.showInformationMessage('Hugging Face token removed.');
}
