/**
 * Sequential output for the streaming writers: small pieces (headers, norms, padding) are gathered
 * in one buffer and written together; large pieces go straight to the file without a copy. Models
 * of many GB stream through this, so the aim is few, large write(2) calls and no per-element work.
 */
import type { FileHandle } from 'node:fs/promises';

/** Pieces at least this large are written directly; smaller ones are gathered. */
const DIRECT_WRITE_BYTES = 1 << 20;
/** Size of the gathering buffer. */
const GATHER_BYTES = 4 << 20;
/** The most one write(2) call is given (Linux caps a write near 2 GiB). */
const MAX_WRITE_BYTES = 1 << 30;

export class ByteSink {
  private readonly gather = Buffer.allocUnsafe(GATHER_BYTES);
  private gathered = 0;
  /** Bytes accepted so far (written or gathered): the file offset of the next byte. */
  position = 0;

  constructor(private readonly handle: FileHandle) {}

  /** Appends bytes. The caller may reuse `data` once the promise resolves. */
  async write(data: ArrayBufferView): Promise<void> {
    const bytes = asBytes(data);
    if (bytes.byteLength >= DIRECT_WRITE_BYTES) {
      await this.flush();
      await this.writeFully(bytes);
    } else {
      if (this.gathered + bytes.byteLength > GATHER_BYTES) await this.flush();
      this.gather.set(bytes, this.gathered);
      this.gathered += bytes.byteLength;
    }
    this.position += bytes.byteLength;
  }

  /** Appends `count` zero bytes (alignment padding). */
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

  /** Writes out whatever is gathered. */
  async flush(): Promise<void> {
    if (this.gathered === 0) return;
    const pending = this.gather.subarray(0, this.gathered);
    this.gathered = 0;
    await this.writeFully(pending);
  }

  private async writeFully(bytes: Uint8Array): Promise<void> {
    let done = 0;
    while (done < bytes.byteLength) {
      const length = Math.min(bytes.byteLength - done, MAX_WRITE_BYTES);
      const { bytesWritten } = await this.handle.write(bytes, done, length, null);
      done += bytesWritten;
    }
  }
}

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
