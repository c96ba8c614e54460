/**
 * A GGUF RuntimeSession whose model runs in a model host (client.ts). The conversation stays in
 * this process (conversation.ts); each turn sends it to the host, whose text comes back in
 * batches through `onToken`. Closing the session ends the host.
 */
import type { Logger } from '../../job';
import type { Placement } from '../artifact-choice';
import { conversationSession } from '../conversation';
import { withHarmonyChannels } from '../reasoning';
import { DEFAULT_MAX_TOKENS, DEFAULT_TEMPERATURE, type GenerateOptions, type RuntimeSession } from '../types';
import type { ModelHost } from './client';
import type { WireGenerate } from './protocol';

export interface HostedSessionOptions {
  modelPath: string;
  artifactId: string;
  contextSize: number;
  placement: Placement | null;
  fit: string;
  threads?: number;
  batchSize?: number;
  flashAttention?: boolean | 'auto';
  systemPrompt?: string;
  signal?: AbortSignal;
  log?: Logger;
}

export function toWireGenerate(gen: GenerateOptions): WireGenerate {
  return {
    maxTokens: gen.maxTokens ?? DEFAULT_MAX_TOKENS,
    temperature: gen.temperature ?? DEFAULT_TEMPERATURE,
    topP: gen.topP,
    seed: gen.seed,
    stop: gen.stop?.length ? gen.stop : undefined,
  };
}

/** Loads the model into `host` and returns the session; the host is closed if loading fails. */
export async function openHostedSession(host: ModelHost, opts: HostedSessionOptions): Promise<RuntimeSession> {
  let loaded;
  try {
    loaded = await host.request(
      {
        type: 'load',
        modelPath: opts.modelPath,
        contextSize: opts.contextSize,
        placement: opts.placement,
        threads: opts.threads,
        batchSize: opts.batchSize,
        flashAttention: opts.flashAttention,
      },
      { what: `loading ${opts.modelPath}`, loading: opts.modelPath, signal: opts.signal },
    );
  } catch (error) {
    await host.close();
    throw error;
  }
  const info = {
    backend: 'gguf' as const,
    artifactId: opts.artifactId,
    modelPath: opts.modelPath,
    contextSize: loaded.contextSize,
    device: host.device.device,
    fit: opts.fit,
    chatTemplate: loaded.chatTemplate,
  };
  const what = `generating with ${opts.modelPath}`;
  return conversationSession(info, opts.systemPrompt, {
    chat: (messages, gen) => {
      const request = { type: 'chat', messages, gen: toWireGenerate(gen) } as const;
      if (loaded.reasoningFormat !== 'harmony') return host.request(request, { onText: gen.onToken, signal: gen.signal, what });
      return withHarmonyChannels(gen, (onText) => host.request(request, { onText, signal: gen.signal, what }));
    },
    complete: (prompt, gen) =>
      host.request({ type: 'complete', prompt, gen: toWireGenerate(gen) }, { onText: gen.onToken, signal: gen.signal, what }),
    close: () => host.close(),
  });
}
