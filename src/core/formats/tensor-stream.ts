/**
 * The common core of the streaming writers (GGUF, safetensors): a header, then each declared tensor's
 * bytes in declared order, each padded to the alignment, into a temporary file that is renamed when
 * every tensor is complete. Any error (wrong order, wrong size, cancel, I/O) deletes the temporary
 * file and leaves the writer unusable, because a file with a hole can never be finished correctly.
 */
import { CancelledError, InternalError } from '../errors';
import { AtomicFile } from '../fs/atomic';
import { ByteSink, totalBytes } from './byte-sink';

export interface DeclaredTensor {
  readonly name: string;
  readonly byteLength: number;
}

export interface TensorStreamOptions {
  /** Header and every tensor are padded with zeros to a multiple of this (1: no padding). */
  alignment: number;
  signal?: AbortSignal;
}

export interface WrittenFile {
  readonly path: string;
  readonly bytes: number;
}

export class TensorStream {
  private index = 0;
  /** Bytes of the current tensor written so far. */
  private partBytes = 0;
  private failed: unknown;

  private constructor(
    private readonly file: AtomicFile,
    private readonly sink: ByteSink,
    private readonly tensors: readonly DeclaredTensor[],
    private readonly opts: TensorStreamOptions,
  ) {}

  /** Creates the temporary file and writes the header (padded to the alignment). */
  static async open(
    finalPath: string,
    header: Uint8Array,
    tensors: readonly DeclaredTensor[],
    opts: TensorStreamOptions,
  ): Promise<TensorStream> {
    const file = await AtomicFile.create(finalPath);
    const stream = new TensorStream(file, new ByteSink(file.handle), tensors, opts);
    await stream.guard(async () => {
      await stream.sink.write(header);
      await stream.pad();
    });
    return stream;
  }

  get path(): string {
    return this.file.finalPath;
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
      if (this.partBytes !== 0) this.fail(`tensor "${name}" was started with writeTensorPart; finish it with writeTensorPart`);
      const size = totalBytes(pieces);
      if (size !== expected.byteLength)
        this.fail(`tensor "${name}" got ${size} bytes, but its declared shape and type take ${expected.byteLength}`);
      for (const p of pieces) await this.sink.write(p);
      await this.completeTensor();
    });
  }

  /** Appends the next piece of the current tensor; the tensor completes when its size is reached. */
  async writePart(name: string, chunk: ArrayBufferView): Promise<void> {
    await this.guard(async () => {
      const expected = this.expect(name);
      if (this.partBytes + chunk.byteLength > expected.byteLength) {
        this.fail(`tensor "${name}" got ${this.partBytes + chunk.byteLength} bytes so far, more than its declared ${expected.byteLength}`);
      }
      await this.sink.write(chunk);
      this.partBytes += chunk.byteLength;
      if (this.partBytes === expected.byteLength) await this.completeTensor();
    });
  }

  /** Checks that every tensor was written, then renames the file into place. */
  async finish(): Promise<WrittenFile> {
    await this.guard(async () => {
      if (this.index < this.tensors.length) {
        const left = this.tensors.length - this.index;
        this.fail(`${left} declared tensor(s) not written, starting with "${this.tensors[this.index]!.name}"`);
      }
      await this.sink.flush();
      await this.file.commit();
    });
    this.failed = 'finished';
    return { path: this.file.finalPath, bytes: this.sink.position };
  }

  /** Deletes the temporary file; safe to call at any time, also after finish or a failure. */
  async abort(): Promise<void> {
    this.failed ??= new CancelledError('writer aborted');
    await this.file.abort();
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

  private async completeTensor(): Promise<void> {
    this.index++;
    this.partBytes = 0;
    await this.pad();
  }

  private async pad(): Promise<void> {
    const rem = this.sink.position % this.opts.alignment;
    if (rem) await this.sink.writeZeros(this.opts.alignment - rem);
  }

  private fail(message: string): never {
    throw new InternalError(`${this.file.finalPath}: ${message}`, { path: this.file.finalPath });
  }

  /** Runs one operation; on any error, deletes the temporary file and poisons the writer. */
  private async guard(op: () => Promise<void>): Promise<void> {
    if (this.failed !== undefined) {
      const why = this.failed === 'finished' ? 'the file is already finished' : 'an earlier error or abort deleted the output';
      throw new InternalError(`${this.file.finalPath}: writer is no longer usable: ${why}`, { path: this.file.finalPath });
    }
    try {
      if (this.opts.signal?.aborted) throw new CancelledError();
      await op();
    } catch (error) {
      this.failed = error;
      await this.file.abort();
      throw error;
    }
  }
}
