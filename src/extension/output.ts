/**
 * The "Llama-Pajamas" output channel. A plain OutputChannel rather than a LogOutputChannel: results
 * such as the architecture block read best without a timestamp on every line, and log lines carry
 * their own. Everything written is mirrored into a bounded buffer, because VS Code has no API to
 * read a channel back and the in-host tests must check what the user sees.
 */
import * as vscode from 'vscode';

export const OUTPUT_CHANNEL_NAME = 'Llama-Pajamas';
/** Lines kept for `text()`; older lines are dropped (the channel itself keeps everything). */
export const MIRROR_MAX_LINES = 5000;

export class PajamasOutput implements vscode.Disposable {
  private readonly channel: vscode.OutputChannel;
  private readonly mirror: string[] = [];

  constructor() {
    this.channel = vscode.window.createOutputChannel(OUTPUT_CHANNEL_NAME);
  }

  /** A diagnostic line, prefixed with the time. */
  log(line: string): void {
    this.append(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
  }

  error(line: string): void {
    this.log(`ERROR ${line}`);
  }

  /** A multi-line result, written as is and followed by a blank line. */
  block(text: string): void {
    for (const line of text.replace(/\n+$/, '').split('\n')) this.append(line);
    this.append('');
  }

  show(): void {
    this.channel.show(true);
  }

  /** What has been written so far (the last MIRROR_MAX_LINES lines). */
  text(): string {
    return this.mirror.join('\n');
  }

  dispose(): void {
    this.channel.dispose();
  }

  private append(line: string): void {
    this.channel.appendLine(line);
    this.mirror.push(line);
    if (this.mirror.length > MIRROR_MAX_LINES) this.mirror.splice(0, this.mirror.length - MIRROR_MAX_LINES);
  }
}
