/**
 * The converter's output file: GGUF header, then each tensor's bytes padded to the alignment, in
 * declared order, into a temporary file renamed when complete (deleted on any failure).
 *
 * Why not the general GgufWriter: on the machines measured, buffered write(2) of a multi-GB file
 * ran at memory speed for the first ~1 GB and then was throttled to ~150 MB/s, while O_DIRECT
 * writes of the same bytes ran at the disk's ~2 GB/s. So the output is written in large stages
 * through the page cache while that is fast, and once a stage write runs slower than
 * DIRECT_SWITCH_BYTES_PER_S the rest goes with O_DIRECT from block-aligned stage buffers (one write
 * in flight while the next stage fills); the last partial block always goes through the page cache.
 * Where O_DIRECT is unavailable (tmpfs, some network file systems) every write is buffered.
 */
import { createHash } from 'node:crypto';
import { constants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { CancelledError, FailureError } from '../errors';
import { tempPathFor } from '../fs/atomic';

/** Bytes per stage (and per write). */
const STAGE_BYTES = 16 << 20;
/** Alignment used for O_DIRECT buffers, offsets and lengths (covers 512 and 4096 byte sectors). */
const DIRECT_ALIGN = 4096;
/** A buffered stage write slower than this (a throttled page cache) switches to O_DIRECT. */
const DIRECT_SWITCH_BYTES_PER_S = 1e9;

export interface DeclaredOutputTensor {
  name: string;
  byteLength: number;
}

interface Stage {
  buf: Uint8Array;
  used: number;
  pending: Promise<void> | undefined;
}

export class GgufOutput {
  private stages: Stage[] = [];
  private current = 0;
  /** File offset of the first byte of the current stage. */
  private stageOffset = 0;
  private position = 0;
  private index = 0;
  private tensorBytes = 0;
  private closed = false;
  private useDirect = false;
  private readonly hash = createHash('sha256');

  private constructor(
    readonly finalPath: string,
    private readonly tempPath: string,
    private readonly plain: FileHandle,
    private readonly direct: FileHandle | undefined,
    private readonly tensors: readonly DeclaredOutputTensor[],
    private readonly alignment: number,
    private readonly signal: AbortSignal | undefined,
    private readonly switchBytesPerSecond: number,
  ) {}

  /**
   * Creates the temporary file and writes the header (padded to the alignment). `switchBytesPerSecond`
   * is the buffered write speed below which O_DIRECT takes over (tests force the switch with Infinity).
   */
  static async open(
    finalPath: string,
    header: Uint8Array,
    tensors: readonly DeclaredOutputTensor[],
    alignment: number,
    opts: { signal?: AbortSignal; switchBytesPerSecond?: number; stageBuffers?: readonly Uint8Array[] } = {},
  ): Promise<GgufOutput> {
    const tempPath = tempPathFor(finalPath);
    const plain = await fsp.open(tempPath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
    const direct = await openDirect(tempPath, opts.stageBuffers);
    const out = new GgufOutput(
      finalPath,
      tempPath,
      plain,
      direct?.handle,
      tensors,
      alignment,
      opts.signal,
      opts.switchBytesPerSecond ?? DIRECT_SWITCH_BYTES_PER_S,
    );
    const buffers = direct?.buffers ?? usableStages(opts.stageBuffers) ?? [0, 1].map(() => new Uint8Array(STAGE_BYTES));
    out.stages = buffers.map((buf) => ({ buf, used: 0, pending: undefined }));
    await out.guard(async () => {
      await out.append(header);
      await out.pad();
    });
    return out;
  }

  /** Whether writes have switched to O_DIRECT (for logs). */
  get usesDirectIo(): boolean {
    return this.useDirect;
  }

  /** Appends the next bytes of the current tensor; the tensor completes when its size is reached. */
  async writePart(name: string, chunk: Uint8Array): Promise<void> {
    await this.guard(async () => {
      const t = this.expect(name, chunk.byteLength);
      await this.append(chunk);
      await this.completed(t, chunk.byteLength);
    });
  }

  private expect(name: string, n: number): DeclaredOutputTensor {
    const t = this.tensors[this.index];
    if (!t || t.name !== name)
      throw new FailureError(`${this.finalPath}: tensor "${name}" written out of order (expected "${t?.name ?? 'nothing'}")`);
    if (this.tensorBytes + n > t.byteLength)
      throw new FailureError(`${this.finalPath}: tensor "${name}" got more than its ${t.byteLength} bytes`);
    return t;
  }

  private async completed(t: DeclaredOutputTensor, n: number): Promise<void> {
    this.tensorBytes += n;
    if (this.tensorBytes === t.byteLength) {
      this.index++;
      this.tensorBytes = 0;
      await this.pad();
    }
  }

  /** The most bytes reserve() hands out at once. */
  get maxReserve(): number {
    return this.stages[0]!.buf.byteLength - DIRECT_ALIGN;
  }

  /**
   * Room for the next `n` bytes of the current tensor, inside a stage buffer, so a producer can
   * write there directly instead of into a buffer of its own; commit(n) then appends them.
   */
  async reserve(n: number): Promise<Uint8Array> {
    if (n > this.maxReserve) throw new FailureError(`reserve(${n}) exceeds ${this.maxReserve} bytes`);
    let stage = this.stages[this.current]!;
    if (stage.used + n > stage.buf.byteLength) {
      await this.guard(() => this.rotate());
      stage = this.stages[this.current]!;
    }
    return stage.buf.subarray(stage.used, stage.used + n);
  }

  /** Appends the `n` bytes last written into reserve()'s region as part of tensor `name`. */
  async commit(name: string, n: number): Promise<void> {
    await this.guard(async () => {
      const t = this.expect(name, n);
      const stage = this.stages[this.current]!;
      stage.used += n;
      this.position += n;
      if (stage.used === stage.buf.byteLength) await this.rotate();
      await this.completed(t, n);
    });
  }

  /** Writes what is left, checks every tensor was written and renames the file into place. */
  async finish(): Promise<{ path: string; bytes: number; sha256: string }> {
    await this.guard(async () => {
      if (this.index < this.tensors.length)
        throw new FailureError(`${this.finalPath}: tensor "${this.tensors[this.index]!.name}" and later ones were not written`);
      await this.flushAll();
      await this.plain.truncate(this.position);
      await this.closeHandles();
      await fsp.rename(this.tempPath, this.finalPath);
    });
    return { path: this.finalPath, bytes: this.position, sha256: this.hash.digest('hex') };
  }

  /** Deletes the temporary file; safe to call at any time. */
  async abort(): Promise<void> {
    await Promise.allSettled(this.stages.map((s) => s.pending));
    await this.closeHandles().catch(() => undefined);
    await fsp.rm(this.tempPath, { force: true });
  }

  private async closeHandles(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.plain.close(), this.direct?.close()]);
  }

  private async guard(op: () => Promise<void>): Promise<void> {
    try {
      if (this.signal?.aborted) throw new CancelledError();
      await op();
    } catch (error) {
      await this.abort();
      throw error;
    }
  }

  private async append(bytes: Uint8Array): Promise<void> {
    let done = 0;
    while (done < bytes.byteLength) {
      const stage = this.stages[this.current]!;
      const n = Math.min(bytes.byteLength - done, stage.buf.byteLength - stage.used);
      stage.buf.set(bytes.subarray(done, done + n), stage.used);
      stage.used += n;
      done += n;
      this.position += n;
      if (stage.used === stage.buf.byteLength) await this.rotate();
    }
  }

  private async pad(): Promise<void> {
    const rem = this.position % this.alignment;
    if (rem) await this.append(new Uint8Array(this.alignment - rem));
  }

  /**
   * Starts writing the current stage's whole blocks and moves to the other stage (waiting for its
   * previous write); bytes past the last whole block are carried over, so every stage write starts
   * and ends on a block boundary, as O_DIRECT requires.
   */
  private async rotate(): Promise<void> {
    const stage = this.stages[this.current]!;
    const whole = stage.used - (stage.used % DIRECT_ALIGN);
    this.hash.update(stage.buf.subarray(0, whole));
    stage.pending = this.writeStage(stage.buf, whole, this.stageOffset);
    stage.pending.catch(() => undefined); // surfaced when awaited
    this.stageOffset += whole;
    this.current = (this.current + 1) % this.stages.length;
    const next = this.stages[this.current]!;
    await next.pending;
    next.pending = undefined;
    next.buf.set(stage.buf.subarray(whole, stage.used), 0);
    next.used = stage.used - whole;
  }

  private async writeStage(buf: Uint8Array, length: number, position: number): Promise<void> {
    if (this.useDirect) return writeAll(this.direct!, buf, length, position);
    const started = process.hrtime.bigint();
    await writeAll(this.plain, buf, length, position);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (this.direct && length / seconds < this.switchBytesPerSecond) this.useDirect = true;
  }

  private async flushAll(): Promise<void> {
    await Promise.all(this.stages.map((s) => s.pending));
    const stage = this.stages[this.current]!;
    if (stage.used === 0) return;
    this.hash.update(stage.buf.subarray(0, stage.used));
    // O_DIRECT needs whole blocks: a partial last block goes through the page cache.
    const whole = this.useDirect ? stage.used - (stage.used % DIRECT_ALIGN) : 0;
    if (whole) await writeAll(this.direct!, stage.buf, whole, this.stageOffset);
    if (whole < stage.used) await writeAll(this.plain, stage.buf.subarray(whole), stage.used - whole, this.stageOffset + whole);
  }
}

async function writeAll(handle: FileHandle, buf: Uint8Array, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesWritten } = await handle.write(buf, done, length - done, position + done);
    if (bytesWritten <= 0) throw new FailureError('write returned no progress');
    done += bytesWritten;
  }
}

/**
 * A second, O_DIRECT handle on the (just created) file with two block-aligned stage buffers, or
 * undefined when the file system refuses O_DIRECT. JavaScript cannot see buffer addresses, so
 * alignment is found by probing: a one-block O_DIRECT write succeeds only from an aligned address
 * (EINVAL otherwise); the probe's zeros at offset 0 are overwritten by the header.
 */
async function openDirect(
  path: string,
  donated: readonly Uint8Array[] | undefined,
): Promise<{ handle: FileHandle; buffers: Uint8Array[] } | undefined> {
  if (!constants.O_DIRECT) return undefined;
  let handle: FileHandle | undefined;
  try {
    handle = await fsp.open(path, constants.O_WRONLY | constants.O_DIRECT);
    const given = usableStages(donated);
    if (given && (await Promise.all(given.map((b) => isAligned(handle!, b)))).every(Boolean)) return { handle, buffers: given };
    const buffers: Uint8Array[] = [];
    for (let i = 0; i < 2; i++) {
      const buf = await alignedBuffer(handle);
      if (!buf) break;
      buffers.push(buf);
    }
    if (buffers.length === 2) return { handle, buffers };
  } catch {
    // O_DIRECT not supported here: buffered writes only.
  }
  await handle?.close().catch(() => undefined);
  return undefined;
}

/** Two caller-provided stage buffers (e.g. in WebAssembly memory), when they are usable. */
function usableStages(buffers: readonly Uint8Array[] | undefined): Uint8Array[] | undefined {
  if (!buffers || buffers.length !== 2) return undefined;
  return buffers.every((b) => b.byteLength >= 2 * DIRECT_ALIGN && b.byteLength % DIRECT_ALIGN === 0) ? [...buffers] : undefined;
}

async function isAligned(handle: FileHandle, buf: Uint8Array): Promise<boolean> {
  try {
    buf.fill(0, 0, DIRECT_ALIGN);
    await handle.write(buf, 0, DIRECT_ALIGN, 0);
    return true;
  } catch {
    return false;
  }
}

async function alignedBuffer(handle: FileHandle): Promise<Uint8Array | undefined> {
  const raw = Buffer.allocUnsafeSlow(STAGE_BYTES + DIRECT_ALIGN);
  raw.fill(0, 0, 2 * DIRECT_ALIGN);
  for (let offset = 0; offset < DIRECT_ALIGN; offset += 8) {
    try {
      await handle.write(raw, offset, DIRECT_ALIGN, 0);
      return raw.subarray(offset, offset + STAGE_BYTES);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EINVAL') return undefined;
    }
  }
  return undefined;
}
