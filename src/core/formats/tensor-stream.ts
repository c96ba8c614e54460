/**
 * The one streaming writer under the GGUF and safetensors writers: a header, then each declared
 * tensor's bytes in declared order, each padded to the alignment, into a ByteSink (a temporary file
 * renamed when every tensor is complete; which kind of sink is the caller's choice). Any error
 * (wrong order, wrong size, cancel, I/O) deletes the temporary file and leaves the writer unusable,
 * because a file with a hole can never be finished correctly. Optionally hashes what it writes, so
 * a multi-GB output need not be read again for its sha256.
 */
import { createHash, type Hash } from 'node:crypto';
import { CancelledError, InternalError } from '../errors';
import { asBytes, bufferedFileSink, totalBytes, type ByteSink, type SinkFactory } from './byte-sink';

export interface DeclaredTensor {
  readonly name: string;
  readonly byteLength: number;
}

export interface TensorStreamOptions {
  /** Header and every tensor are padded with zeros to a multiple of this (1: no padding). */
  alignment: number;
  signal?: AbortSignal;
  /** Where the bytes go (default: buffered writes to a temporary file). */
  sink?: SinkFactory;
  /** Computes the file's sha256 while writing (WrittenFile.sha256). */
  sha256?: boolean;
}

export interface WrittenFile {
  readonly path: string;
  readonly bytes: number;
  /** Present when the writer was asked to hash (the `sha256` option). */
  readonly sha256?: string;
}

export class TensorStream {
  private index = 0;
  /** Bytes of the current tensor written so far. */
  private partBytes = 0;
  private failed: unknown;
  /** The region reserve() handed out, hashed when committed. */
  private reserved: Uint8Array | undefined;

  private constructor(
    readonly path: string,
    private readonly sink: ByteSink,
    private readonly tensors: readonly DeclaredTensor[],
    private readonly opts: TensorStreamOptions,
    private readonly hash: Hash | undefined,
  ) {}

  /** Opens the sink (a temporary file) and writes the header, padded to the alignment. */
  static async open(
    finalPath: string,
    header: Uint8Array,
    tensors: readonly DeclaredTensor[],
    opts: TensorStreamOptions,
  ): Promise<TensorStream> {
    const sink = await (opts.sink ?? bufferedFileSink)(finalPath);
    const stream = new TensorStream(finalPath, sink, tensors, opts, opts.sha256 ? createHash('sha256') : undefined);
    await stream.guard(async () => {
      await stream.append(header);
      await stream.pad();
    });
    return stream;
  }

  /** Name of the tensor whose bytes come next, or undefined when all are written. */
  get nextTensor(): string | undefined {
    return this.tensors[this.index]?.name;
  }

  /** Writes a whole tensor: `data` (one buffer or pieces) must be exactly its declared size. */
  async write(name: string, data: ArrayBufferView | readonly ArrayBufferView[]): Promise<void> {
    await this.guard(async () => {
      const pieces = Array.isArray(data) ? (data as readonly ArrayBufferView[]) : [data as ArrayBufferView];
      const expected = this.expect(name);
      if (this.partBytes !== 0) this.fail(`tensor "${name}" was started in parts; finish it in parts`);
      const size = totalBytes(pieces);
      if (size !== expected.byteLength)
        this.fail(`tensor "${name}" got ${size} bytes, but its declared shape and type take ${expected.byteLength}`);
      for (const p of pieces) await this.append(asBytes(p));
      await this.completeTensor();
    });
  }

  /** Appends the next piece of the current tensor; the tensor completes when its size is reached. */
  async writePart(name: string, chunk: ArrayBufferView): Promise<void> {
    await this.guard(async () => {
      this.expectPart(name, chunk.byteLength);
      await this.append(asBytes(chunk));
      await this.partDone(chunk.byteLength);
    });
  }

  /** The most bytes reserve() hands out at once; 0 when the sink has no buffers of its own. */
  get maxReserve(): number {
    return this.sink.reserve && this.sink.commit ? (this.sink.maxReserve ?? 0) : 0;
  }

  /**
   * Room for the next `n` bytes of tensor `name` inside the sink's own buffer, so a producer can
   * write there instead of into a buffer of its own; commit(name, n) then appends them.
   */
  async reserve(name: string, n: number): Promise<Uint8Array> {
    return this.guard(async () => {
      if (n > this.maxReserve) this.fail(`reserve(${n}) exceeds the sink's ${this.maxReserve} bytes`);
      this.expectPart(name, n);
      this.reserved = await this.sink.reserve!(n);
      return this.reserved;
    });
  }

  /** Appends the `n` bytes last written into reserve()'s region as part of tensor `name`. */
  async commit(name: string, n: number): Promise<void> {
    await this.guard(async () => {
      if (!this.reserved || n > this.reserved.byteLength) this.fail(`commit(${n}) of tensor "${name}" without a reserve() that large`);
      this.expectPart(name, n);
      this.hash?.update(this.reserved!.subarray(0, n));
      this.reserved = undefined;
      await this.sink.commit!(n);
      await this.partDone(n);
    });
  }

  /** Checks that every tensor was written, then renames the file into place. */
  async finish(): Promise<WrittenFile> {
    await this.guard(async () => {
      if (this.index < this.tensors.length) {
        const left = this.tensors.length - this.index;
        this.fail(`${left} declared tensor(s) not written, starting with "${this.tensors[this.index]!.name}"`);
      }
      await this.sink.finish();
    });
    this.failed = 'finished';
    return { path: this.path, bytes: this.sink.position, ...(this.hash ? { sha256: this.hash.digest('hex') } : {}) };
  }

  /** Deletes the temporary file; safe to call at any time, also after finish or a failure. */
  async abort(): Promise<void> {
    this.failed ??= new CancelledError('writer aborted');
    await this.sink.abort();
  }

  private expect(name: string): DeclaredTensor {
    const next = this.tensors[this.index];
    if (!next) this.fail(`tensor "${name}" written after all ${this.tensors.length} declared tensors`);
    if (next!.name !== name) {
      const declared = this.tensors.some((t) => t.name === name);
      this.fail(declared ? `tensor "${name}" written out of order: "${next!.name}" comes next` : `tensor "${name}" was not declared`);
    }
    return next!;
  }

  private expectPart(name: string, n: number): void {
    const expected = this.expect(name);
    if (this.partBytes + n > expected.byteLength) {
      this.fail(`tensor "${name}" got ${this.partBytes + n} bytes so far, more than its declared ${expected.byteLength}`);
    }
  }

  private async partDone(n: number): Promise<void> {
    this.partBytes += n;
    if (this.partBytes === this.tensors[this.index]!.byteLength) await this.completeTensor();
  }

  private async append(bytes: Uint8Array): Promise<void> {
    this.hash?.update(bytes);
    await this.sink.write(bytes);
  }

  private async completeTensor(): Promise<void> {
    this.index++;
    this.partBytes = 0;
    await this.pad();
  }

  private async pad(): Promise<void> {
    const rem = this.sink.position % this.opts.alignment;
    if (!rem) return;
    const count = this.opts.alignment - rem;
    this.hash?.update(Buffer.alloc(count));
    await this.sink.writeZeros(count);
  }

  private fail(message: string): never {
    throw new InternalError(`${this.path}: ${message}`, { path: this.path });
  }

  /** Runs one operation; on any error, deletes the temporary file and poisons the writer. */
  private async guard<T>(op: () => Promise<T>): Promise<T> {
    if (this.failed !== undefined) {
      const why = this.failed === 'finished' ? 'the file is already finished' : 'an earlier error or abort deleted the output';
      throw new InternalError(`${this.path}: writer is no longer usable: ${why}`, { path: this.path });
    }
    try {
      if (this.opts.signal?.aborted) throw new CancelledError();
      return await op();
    } catch (error) {
      this.failed = error;
      await this.sink.abort();
      throw error;
    }
  }
}
