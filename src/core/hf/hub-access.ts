/**
 * How to reach the Hub: endpoint, access token, cache folder and offline mode, from the caller's
 * options first and then the environment variables huggingface_hub reads. The token is only ever
 * sent in an Authorization header: `redactToken` scrubs it from any text that leaves this module.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hubCacheRoot, type CacheEnv } from './cache';

export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';

/** What a caller may set; everything else comes from the environment. */
export interface HubAccess {
  /** An access token (the extension's SecretStorage token); else HF_TOKEN or the token file. */
  token?: string;
  /** The Hub's base URL; else HF_ENDPOINT, else huggingface.co. */
  endpoint?: string;
  /** The cache root; else HF_HUB_CACHE, HF_HOME/hub or ~/.cache/huggingface/hub. */
  cacheDir?: string;
  /** Never touch the network, read the cache only; else HF_HUB_OFFLINE. */
  offline?: boolean;
}

export interface ResolvedHubAccess {
  endpoint: string;
  token: string | undefined;
  cacheDir: string;
  offline: boolean;
}

type HubEnv = CacheEnv &
  Partial<Record<'HF_TOKEN' | 'HUGGING_FACE_HUB_TOKEN' | 'HF_TOKEN_PATH' | 'HF_ENDPOINT' | 'HF_HUB_OFFLINE', string>>;

export function resolveHubAccess(access: HubAccess = {}, env: HubEnv = process.env): ResolvedHubAccess {
  const endpoint = (access.endpoint || env.HF_ENDPOINT || DEFAULT_HUB_ENDPOINT).replace(/\/+$/, '');
  return {
    endpoint,
    token: access.token?.trim() || env.HF_TOKEN?.trim() || env.HUGGING_FACE_HUB_TOKEN?.trim() || readTokenFile(env),
    cacheDir: access.cacheDir ?? hubCacheRoot(env),
    offline: access.offline ?? isTruthy(env.HF_HUB_OFFLINE),
  };
}

/** The token `hf auth login` saved: $HF_TOKEN_PATH, else $HF_HOME/token, else ~/.cache/huggingface/token. */
function readTokenFile(env: HubEnv): string | undefined {
  const home = env.HF_HOME || path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'huggingface');
  const file = env.HF_TOKEN_PATH || path.join(home, 'token');
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

function isTruthy(value: string | undefined): boolean {
  return !!value && ['1', 'on', 'yes', 'true'].includes(value.trim().toLowerCase());
}

/** `text` with every occurrence of the token replaced, for messages built from upstream errors. */
export function redactToken(text: string, token: string | undefined): string {
  return token ? text.split(token).join('<token>') : text;
}
