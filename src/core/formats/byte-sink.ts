/**
 * Where the streaming writers' bytes go. A ByteSink appends bytes in order to a temporary file next
 * to the final path, which finish() renames into place and abort() deletes, so an interrupted
 * write never leaves a file that looks finished. The writers (TensorStream and the GGUF and
 * safetensors writers on it) decide what the bytes are; the sink only decides how they reach the
 * disk. Two kinds: the buffered file sink here (the default) and the staged sink of
 * staged-file-sink.ts (the converter's multi-GB outputs, which switches to O_DIRECT when the page
 * cache throttles).
 */
import { AtomicFile } from '../fs/atomic';

export interface ByteSink {
  /** Bytes accepted so far (written or pending): the file offset of the next byte. */
  readonly position: number;
  /** Appends bytes. The caller may reuse `bytes` once the promise resolves. */
  write(bytes: Uint8Array): Promise<void>;
  /** Appends `count` zero bytes (alignment padding). */
  writeZeros(count: number): Promise<void>;
  /**
   * Zero-copy appends, for sinks with buffers of their own: room for the next `n` bytes (at most
   * maxReserve) inside the sink's buffer, for a producer to fill; commit(n) then appends them.
   */
  reserve?(n: number): Promise<Uint8Array>;
  commit?(n: number): Promise<void>;
  readonly maxReserve?: number;
  /** Writes out what is pending, closes the file and renames it into place. */
  finish(): Promise<void>;
  /** Closes and deletes the temporary file; safe at any time, a no-op after finish. */
  abort(): Promise<void>;
}

/** Opens a sink whose file will be renamed to `finalPath`: the writers' pluggable output. */
export type SinkFactory = (finalPath: string) => Promise<ByteSink>;

/** Pieces at least this large are written directly; smaller ones are gathered. */
const DIRECT_WRITE_BYTES = 1 << 20;
/** Size of the gathering buffer. */
const GATHER_BYTES = 4 << 20;
/** The most one write(2) call is given (Linux caps a write near 2 GiB). */
const MAX_WRITE_BYTES = 1 << 30;

/**
 * Sequential buffered output: small pieces (headers, norms, padding) are gathered in one buffer and
 * written together; large pieces go straight to the file without a copy. The aim is few, large
 * write(2) calls and no per-element work.
 */
export class BufferedFileSink implements ByteSink {
  private readonly gather = Buffer.allocUnsafe(GATHER_BYTES);
  private gathered = 0;
  position = 0;

  private constructor(private readonly file: AtomicFile) {}

  static async open(finalPath: string): Promise<BufferedFileSink> {
    return new BufferedFileSink(await AtomicFile.create(finalPath));
  }

  async write(data: Uint8Array): Promise<void> {
    if (data.byteLength >= DIRECT_WRITE_BYTES) {
      await this.flush();
      await this.writeFully(data);
    } else {
      if (this.gathered + data.byteLength > GATHER_BYTES) await this.flush();
      this.gather.set(data, this.gathered);
      this.gathered += data.byteLength;
    }
    this.position += data.byteLength;
  }

  async writeZeros(count: number): Promise<void> {
    if (count <= 0) return;
    if (this.gathered + count > GATHER_BYTES) await this.flush();
    if (count > GATHER_BYTES) {
      await this.writeFully(Buffer.alloc(count));
    } else {
      this.gather.fill(0, this.gathered, this.gathered + count);
      this.gathered += count;
    }
    this.position += count;
  }

  async finish(): Promise<void> {
    await this.flush();
    await this.file.commit();
  }

  abort(): Promise<void> {
    return this.file.abort();
  }

  private async flush(): Promise<void> {
    if (this.gathered === 0) return;
    const pending = this.gather.subarray(0, this.gathered);
    this.gathered = 0;
    await this.writeFully(pending);
  }

  private async writeFully(bytes: Uint8Array): Promise<void> {
    let done = 0;
    while (done < bytes.byteLength) {
      const length = Math.min(bytes.byteLength - done, MAX_WRITE_BYTES);
      const { bytesWritten } = await this.file.handle.write(bytes, done, length, null);
      done += bytesWritten;
    }
  }
}

/** The default sink: buffered writes to a temporary file. */
export const bufferedFileSink: SinkFactory = (finalPath) => BufferedFileSink.open(finalPath);

/** A Uint8Array over the same memory as any typed array, DataView or Buffer. */
export function asBytes(data: ArrayBufferView): Uint8Array {
  return data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Total bytes of a list of pieces. */
export function totalBytes(pieces: readonly ArrayBufferView[]): number {
  let n = 0;
  for (const p of pieces) n += p.byteLength;
  return n;
}
