/**
 * A typed message channel to one webview: every incoming message is checked with the view's guard
 * (a webview is untrusted input; anything else is logged and dropped), `ready` is answered with the
 * view's `init` each time the page (re)loads, which is how a view gets its state back after being
 * hidden and shown, and posts made before the page is ready wait for it.
 */
import type * as vscode from 'vscode';
import type { PajamasOutput } from '../output';

export interface ChannelOptions<In extends { type: string }, Out> {
  webview: vscode.Webview;
  /** The view's name in log lines. */
  name: string;
  output: PajamasOutput;
  isMessage: (m: unknown) => m is In;
  /** The `init` message sent for every `ready`. */
  init: () => Out | Promise<Out>;
  /** Every checked message other than `ready`. */
  onMessage: (m: Exclude<In, { type: 'ready' }>) => void | Promise<void>;
}

export class WebviewChannel<In extends { type: string }, Out> implements vscode.Disposable {
  private ready = false;
  private queue: Out[] = [];
  private readonly subscription: vscode.Disposable;

  constructor(private readonly options: ChannelOptions<In, Out>) {
    this.subscription = options.webview.onDidReceiveMessage((m: unknown) => void this.receive(m));
  }

  /** Posts now if the page is ready, else when it is; a page that reloads gets `init` again instead. */
  post(message: Out): void {
    if (!this.ready) {
      this.queue.push(message);
      return;
    }
    void this.options.webview.postMessage(message);
  }

  /** The page went away (hidden without retained context): posts wait for the next `ready`. */
  detach(): void {
    this.ready = false;
    this.queue = [];
  }

  dispose(): void {
    this.subscription.dispose();
  }

  private async receive(m: unknown): Promise<void> {
    const { isMessage, name, output } = this.options;
    if (!isMessage(m)) {
      output.error(`${name}: dropped a malformed message from the view: ${JSON.stringify(m)?.slice(0, 200)}`);
      return;
    }
    try {
      if (m.type === 'ready') {
        this.ready = false;
        await this.options.webview.postMessage(await this.options.init());
        this.ready = true;
        const queued = this.queue;
        this.queue = [];
        for (const q of queued) void this.options.webview.postMessage(q);
        return;
      }
      await this.options.onMessage(m as Exclude<In, { type: 'ready' }>);
    } catch (error) {
      output.error(`${name}: handling "${m.type}" failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
