/**
 * The model host's own side (it runs in the child, dist/model-host.js): loads node-llama-cpp, one
 * model, answers requests, streams text in batches. It obeys only its parent: a terminal's Ctrl-C
 * reaches the whole process group, but stopping a reply is the parent's decision (it sends a
 * cancel), and when the parent goes away the host goes too.
 */
import { UsageError } from '../../errors';
import type { Logger } from '../../job';
import { type GgufEngine, loadGgufEngine } from '../gguf-engine';
import { type Llama, createLlama, describeDevice } from '../node-llama';
import { serializeError } from './errors';
import { type HostMessage, type HostReplies, type HostRequest, STREAM_FLUSH_MS, isParentMessage } from './protocol';
import { TextBatcher } from './text-batcher';

export function runModelHost(): void {
  if (!process.send) throw new Error('the model host runs as a child process with an IPC channel (see model-host/client.ts)');
  const send = (message: HostMessage, then?: () => void) => process.send!(message, undefined, undefined, then);
  const log: Logger = (line) => send({ type: 'log', line });
  const state = new HostState(log);
  const cancels = new Map<number, AbortController>();

  process.on('SIGINT', () => {});
  process.on('disconnect', () => process.exit(0));
  process.on('message', (message: unknown) => {
    if (!isParentMessage(message)) return;
    if (message.type === 'cancel') return cancels.get(message.id)?.abort();
    const controller = new AbortController();
    cancels.set(message.id, controller);
    const batcher = new TextBatcher((text) => send({ type: 'text', id: message.id, text }), STREAM_FLUSH_MS);
    state
      .handle(message, controller.signal, (text) => batcher.push(text))
      .then(
        (value) => {
          batcher.flush();
          cancels.delete(message.id);
          const exit = message.type === 'close' ? () => process.exit(0) : undefined;
          send({ type: 'reply', id: message.id, ok: true, value }, exit);
        },
        (error: unknown) => {
          batcher.flush();
          cancels.delete(message.id);
          send({ type: 'reply', id: message.id, ok: false, error: serializeError(error) });
        },
      );
  });
}

class HostState {
  private llama: Llama | null = null;
  private recentErrors: () => string[] = () => [];
  private engine: GgufEngine | null = null;

  constructor(private readonly log: Logger) {}

  async handle(request: HostRequest, signal: AbortSignal, onText: (text: string) => void): Promise<HostReplies[HostRequest['type']]> {
    switch (request.type) {
      case 'init': {
        if (this.llama) throw new UsageError('the model host is already initialised');
        const { llama, binding, recentErrors } = await createLlama({ gpu: request.gpu, log: this.log });
        this.llama = llama;
        this.recentErrors = recentErrors;
        return describeDevice(llama, binding);
      }
      case 'load': {
        if (!this.llama) throw new UsageError('init the model host before loading a model');
        if (this.engine) throw new UsageError('this model host already holds a model; start another host for another model');
        const { type: _type, id: _id, ...load } = request;
        this.recentErrors(); // only this load's errors explain its failure
        this.engine = await loadGgufEngine(this.llama, { ...load, signal, log: this.log, recentErrors: this.recentErrors });
        return this.engine.loaded;
      }
      case 'chat':
        return this.requireEngine().chat(request.messages, request.gen, onText, signal);
      case 'complete':
        return this.requireEngine().complete(request.prompt, request.gen, onText, signal);
      case 'bench-pp':
        return this.requireEngine().benchPromptProcessing(request, signal);
      case 'bench-tg':
        return this.requireEngine().benchGeneration(request, onText, signal);
      case 'close':
        await this.engine?.close();
        await this.llama?.dispose();
        this.engine = null;
        this.llama = null;
        return null;
      default: {
        const unreachable: never = request;
        throw new UsageError(`unknown request ${String((unreachable as { type: unknown }).type)}`);
      }
    }
  }

  private requireEngine(): GgufEngine {
    if (!this.engine) throw new UsageError('no model is loaded in this model host');
    return this.engine;
  }
}
