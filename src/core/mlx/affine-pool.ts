/**
 * Worker threads for the affine quantizer. The worker's code is the kernel factory itself,
 * stringified: the project ships as esbuild bundles (dist/cli.js, dist/server.js) and runs from
 * TypeScript under tsx in tests, and an eval'd worker is the one form that works in all three
 * without a separate worker entry point. The `__name` shim covers esbuild's keepNames helper, which
 * tsx inserts into function bodies.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { FailureError } from '../errors';
import { checkAffineParams, encodingId, type AffineParams, type AffineQuantized, type MlxFloatDtype } from './affine';
import { createAffineKernel } from './affine-kernel';

/** At most this many workers: quantization is memory-light, but more threads than cores only add switching. */
export const MAX_QUANTIZE_THREADS = 16;

interface Task {
  id: number;
  src: Float32Array | Uint16Array;
  encoding: number;
  bits: number;
  groupSize: number;
  resolve: (q: AffineQuantized) => void;
  reject: (e: Error) => void;
}

interface Reply {
  id: number;
  words?: Uint32Array;
  scales?: Float32Array;
  biases?: Float32Array;
  error?: string;
}

const WORKER_SOURCE = `"use strict";
var __name = (f) => f;
const { parentPort } = require('node:worker_threads');
const createAffineKernel = ${createAffineKernel.toString()};
const kernel = createAffineKernel();
parentPort.on('message', (m) => {
  try {
    const count = m.src.length;
    const words = new Uint32Array((count * m.bits) / 32);
    const scales = new Float32Array(count / m.groupSize);
    const biases = new Float32Array(count / m.groupSize);
    kernel.quantize(m.src, m.encoding, count, m.bits, m.groupSize, words, scales, biases);
    parentPort.postMessage({ id: m.id, words, scales, biases }, [words.buffer, scales.buffer, biases.buffer]);
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: String(e && e.stack || e) });
  }
});
`;

/** Threads to use by default: every core the process may use. */
export function defaultQuantizeThreads(): number {
  const n = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(MAX_QUANTIZE_THREADS, n));
}

export class AffinePool {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: Task[] = [];
  private readonly running = new Map<Worker, Task>();
  private nextId = 1;
  private failure: Error | null = null;
  private closed = false;

  constructor(readonly threads: number = defaultQuantizeThreads()) {
    for (let i = 0; i < threads; i++) {
      const worker = new Worker(WORKER_SOURCE, { eval: true });
      worker.on('message', (reply: Reply) => this.onReply(worker, reply));
      worker.on('error', (e) => this.fail(new FailureError(`quantizer worker failed: ${e.message}`, {}, { cause: e })));
      worker.on('exit', (code) => {
        if (!this.closed) this.fail(new FailureError(`quantizer worker exited unexpectedly (code ${code})`));
      });
      this.workers.push(worker);
      this.idle.push(worker);
    }
  }

  /** Number of tasks queued or running; callers keep it small to bound memory. */
  get pending(): number {
    return this.queue.length + this.running.size;
  }

  /**
   * Quantizes `src` (whole groups) on a worker. The source is copied to the worker unless
   * `transfer` is set and `src` owns its whole ArrayBuffer, in which case it is moved (and becomes
   * unusable here).
   */
  quantize(src: Float32Array | Uint16Array, dtype: MlxFloatDtype, p: AffineParams, transfer = false): Promise<AffineQuantized> {
    checkAffineParams(p);
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new FailureError('quantizer pool is closed'));
    const owns = src.byteOffset === 0 && src.byteLength === src.buffer.byteLength && src.buffer instanceof ArrayBuffer;
    const data = transfer && owns ? src : src.slice();
    return new Promise<AffineQuantized>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, src: data, encoding: encodingId(dtype), bits: p.bits, groupSize: p.groupSize, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.fail(new FailureError('quantizer pool closed while work was pending'));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private dispatch(): void {
    while (this.idle.length && this.queue.length) {
      const worker = this.idle.pop()!;
      const task = this.queue.shift()!;
      this.running.set(worker, task);
      const { id, src, encoding, bits, groupSize } = task;
      worker.postMessage({ id, src, encoding, bits, groupSize }, [src.buffer as ArrayBuffer]);
    }
  }

  private onReply(worker: Worker, reply: Reply): void {
    const task = this.running.get(worker);
    this.running.delete(worker);
    this.idle.push(worker);
    if (task && task.id === reply.id) {
      if (reply.error) task.reject(new FailureError(`quantizer worker: ${reply.error}`));
      else task.resolve({ words: reply.words!, scales: reply.scales!, biases: reply.biases! });
    }
    this.dispatch();
  }

  private fail(error: Error): void {
    if (!this.failure) this.failure = error;
    for (const task of [...this.queue, ...this.running.values()]) task.reject(error);
    this.queue.length = 0;
    this.running.clear();
  }
}
