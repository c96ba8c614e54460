/** Streaming SHA-256 of files, for manifests and skip-if-unchanged checks. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { CancelledError, FailureError, throwIfCancelled } from '../errors';
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

// Plain CommonJS, run with `eval: true`: the same source works from the bundles and from tsx.
const HASH_WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { createReadStream } = require('node:fs');
(async () => {
  const digests = [];
  for (const file of workerData.files) {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(file, { highWaterMark: ${HASH_CHUNK_BYTES} })) hash.update(chunk);
    digests.push(hash.digest('hex'));
  }
  parentPort.postMessage(digests);
})().catch((error) => parentPort.postMessage({ error: String(error && error.message || error) }));
`;

/**
 * Hashes files on a worker thread, so the hashing runs on another core while the main thread
 * does other work (the pipeline hashes a model's source files while it converts them).
 */
export function sha256FilesInWorker(files: readonly string[], signal?: AbortSignal): Promise<string[]> {
  if (files.length === 0) return Promise.resolve([]);
  return new Promise((resolve, reject) => {
    const worker = new Worker(HASH_WORKER_SOURCE, { eval: true, workerData: { files } });
    const onAbort = () => void worker.terminate().then(() => reject(new CancelledError()));
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.once('message', (reply: string[] | { error: string }) => {
      signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
      if (Array.isArray(reply)) resolve(reply);
      else reject(new FailureError(`hashing ${files.length} file(s) failed: ${reply.error}`));
    });
    worker.once('error', (error) => {
      signal?.removeEventListener('abort', onAbort);
      reject(new FailureError(`the hashing worker failed: ${error.message}`, {}, { cause: error }));
    });
  });
}
