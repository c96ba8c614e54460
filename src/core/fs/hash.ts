/** Streaming SHA-256 of files, for manifests and skip-if-unchanged checks. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { throwIfCancelled } from '../errors';
import type { JobOptions } from '../job';

const HASH_CHUNK_BYTES = 8 * 1024 * 1024;

export async function sha256File(file: string, opts: JobOptions & { step?: string } = {}): Promise<string> {
  const total = (await stat(file)).size;
  const hash = createHash('sha256');
  let done = 0;
  const stream = createReadStream(file, { highWaterMark: HASH_CHUNK_BYTES });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    throwIfCancelled(opts.signal);
    hash.update(chunk);
    done += chunk.length;
    opts.onProgress?.({ step: opts.step ?? 'hash', done, total, unit: 'bytes' });
  }
  return hash.digest('hex');
}

export function sha256Text(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}
