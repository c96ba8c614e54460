/**
 * Bounded reads from model files that may be far larger than memory: a byte range read into one
 * buffer (a tensor), and a forward-only buffered reader for headers that grows its window only as
 * far as a single item needs (a GGUF header can be tens of MB of tokenizer arrays in a 100 GB file).
 */
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { FormatError, throwIfCancelled } from '../errors';

/** The most one read(2) call is asked for (Linux returns at most ~2 GiB per call). */
const MAX_READ_BYTES = 1 << 30;

/**
 * Reads exactly `length` bytes at `position` of an open file into `target` (from its start), or
 * throws a FormatError naming the file when the file ends first.
 */
export async function readFully(handle: FileHandle, target: Uint8Array, position: number, length: number, path: string): Promise<void> {
  let done = 0;
  while (done < length) {
    const ask = Math.min(length - done, MAX_READ_BYTES);
    const { bytesRead } = await handle.read(target, done, ask, position + done);
    if (bytesRead === 0) {
      throw new FormatError(
        `file ends after ${position + done} bytes, expected at least ${position + length}; the file is truncated (re-download or ` +
          `re-create it)`,
        {
          path,
          offset: position + done,
        },
      );
    }
    done += bytesRead;
  }
}

/**
 * Reads `length` bytes at `position` of the file at `path` into a fresh buffer. The buffer is never
 * taken from Node's shared pool, so its byteOffset is 0 and typed-array views of it are aligned.
 */
export async function readRange(path: string, position: number, length: number): Promise<Buffer> {
  const target = Buffer.allocUnsafeSlow(length);
  if (length === 0) return target;
  const handle = await fsp.open(path, 'r');
  try {
    await readFully(handle, target, position, length, path);
  } finally {
    await handle.close();
  }
  return target;
}

/** Size of each read of the buffered header reader. */
const CHUNK_BYTES = 1 << 20;

/**
 * A forward-only reader over an open file. Callers check `available()`/call `need(n)` before
 * decoding `n` bytes synchronously from `buf` at `pos`: the common case (enough bytes buffered)
 * costs no promise, which matters when a header holds hundreds of thousands of tokenizer strings.
 */
export class BufferedFileReader {
  buf: Buffer = Buffer.alloc(0);
  /** Read position inside `buf`. */
  pos = 0;
  /** File offset of buf[0]. */
  private base = 0;

  constructor(
    readonly handle: FileHandle,
    readonly path: string,
    readonly fileSize: number,
    /** Checked before each read: a header of a billion bytes stops when asked to. */
    readonly signal?: AbortSignal,
  ) {}

  /** File offset of the next byte to decode. */
  get offset(): number {
    return this.base + this.pos;
  }

  /** Bytes of the file after the current offset. */
  get remainingInFile(): number {
    return this.fileSize - this.offset;
  }

  available(): number {
    return this.buf.length - this.pos;
  }

  /**
   * Makes at least `n` bytes available at `pos`, or throws a FormatError (truncated file) that names
   * `what` is being read. Grows the window beyond CHUNK_BYTES only for items larger than that.
   */
  async need(n: number, what: string): Promise<void> {
    if (this.buf.length - this.pos >= n) return;
    if (n > this.remainingInFile) {
      throw new FormatError(`file ends inside ${what}: needs ${n} bytes, ${this.remainingInFile} left; the file is truncated or corrupt`, {
        path: this.path,
        offset: this.offset,
      });
    }
    throwIfCancelled(this.signal);
    const keep = this.buf.length - this.pos;
    const size = Math.min(Math.max(n, CHUNK_BYTES), this.remainingInFile);
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, this.pos);
    await readFully(this.handle, next.subarray(keep), this.base + this.buf.length, size - keep, this.path);
    this.base += this.pos;
    this.buf = next;
    this.pos = 0;
  }

  /** Skips forward `n` bytes (padding), which must lie inside the file. */
  async skip(n: number, what: string): Promise<void> {
    if (n > this.remainingInFile) {
      throw new FormatError(`file ends inside ${what}`, { path: this.path, offset: this.offset });
    }
    if (this.available() >= n) {
      this.pos += n;
      return;
    }
    this.base = this.offset + n;
    this.buf = Buffer.alloc(0);
    this.pos = 0;
  }
}
