/**
 * A ByteSink for outputs of many GB (the converter's GGUF). On the machines measured, buffered
 * write(2) of a multi-GB file ran at memory speed for the first ~1 GB and then was throttled to
 * ~150 MB/s, while O_DIRECT writes of the same bytes ran at the disk's ~2 GB/s. So the bytes are
 * written in large stages through the page cache while that is fast, and once a stage write runs
 * slower than DIRECT_SWITCH_BYTES_PER_S the rest goes with O_DIRECT from block-aligned stage
 * buffers (one write in flight while the next stage fills); the last partial block always goes
 * through the page cache. Where O_DIRECT is unavailable (tmpfs, some network file systems) every
 * write is buffered. Producers may fill the stage buffers directly (reserve/commit): no copy.
 */
import { constants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { FailureError, InternalError } from '../errors';
import { AtomicFile } from '../fs/atomic';
import type { ByteSink, SinkFactory } from './byte-sink';

/** Bytes per stage (and per write). */
const STAGE_BYTES = 16 << 20;
/** Alignment used for O_DIRECT buffers, offsets and lengths (covers 512 and 4096 byte sectors). */
const DIRECT_ALIGN = 4096;
/** A buffered stage write slower than this (a throttled page cache) switches to O_DIRECT. */
const DIRECT_SWITCH_BYTES_PER_S = 1e9;

export interface StagedSinkOptions {
  /** The buffered write speed below which O_DIRECT takes over (tests force the switch with Infinity). */
  switchBytesPerSecond?: number;
  /**
   * Two stage buffers to use instead of allocating them (e.g. in WebAssembly memory, so a kernel
   * converts straight into them); ignored unless both are whole blocks and, for O_DIRECT, aligned.
   */
  stageBuffers?: readonly Uint8Array[];
}

interface Stage {
  buf: Uint8Array;
  used: number;
  pending: Promise<void> | undefined;
}

/** A factory for the writers' `sink` option. */
export function stagedFileSink(opts: StagedSinkOptions = {}): SinkFactory {
  return (finalPath) => StagedFileSink.open(finalPath, opts);
}

export class StagedFileSink implements ByteSink {
  private stages: Stage[] = [];
  private current = 0;
  /** File offset of the first byte of the current stage. */
  private stageOffset = 0;
  position = 0;
  private useDirect = false;
  private done = false;

  private constructor(
    private readonly file: AtomicFile,
    private readonly direct: FileHandle | undefined,
    private readonly switchBytesPerSecond: number,
  ) {}

  static async open(finalPath: string, opts: StagedSinkOptions = {}): Promise<StagedFileSink> {
    const file = await AtomicFile.create(finalPath);
    const direct = await openDirect(file.tempPath, opts.stageBuffers);
    const sink = new StagedFileSink(file, direct?.handle, opts.switchBytesPerSecond ?? DIRECT_SWITCH_BYTES_PER_S);
    const buffers = direct?.buffers ?? usableStages(opts.stageBuffers) ?? [0, 1].map(() => new Uint8Array(STAGE_BYTES));
    sink.stages = buffers.map((buf) => ({ buf, used: 0, pending: undefined }));
    return sink;
  }

  /** Whether writes have switched to O_DIRECT (for logs). */
  get usesDirectIo(): boolean {
    return this.useDirect;
  }

  get maxReserve(): number {
    return this.stages[0]!.buf.byteLength - DIRECT_ALIGN;
  }

  async write(bytes: Uint8Array): Promise<void> {
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

  async writeZeros(count: number): Promise<void> {
    if (count > 0) await this.write(new Uint8Array(count));
  }

  async reserve(n: number): Promise<Uint8Array> {
    if (n > this.maxReserve) throw new InternalError(`reserve(${n}) exceeds ${this.maxReserve} bytes`);
    let stage = this.stages[this.current]!;
    if (stage.used + n > stage.buf.byteLength) {
      await this.rotate();
      stage = this.stages[this.current]!;
    }
    return stage.buf.subarray(stage.used, stage.used + n);
  }

  async commit(n: number): Promise<void> {
    const stage = this.stages[this.current]!;
    if (stage.used + n > stage.buf.byteLength) throw new InternalError(`commit(${n}) exceeds the reserved room`);
    stage.used += n;
    this.position += n;
    if (stage.used === stage.buf.byteLength) await this.rotate();
  }

  async finish(): Promise<void> {
    await this.flushAll();
    // The O_DIRECT probes may have written whole blocks past the end of a small file.
    await this.file.handle.truncate(this.position);
    await this.closeDirect();
    await this.file.commit();
  }

  async abort(): Promise<void> {
    await Promise.allSettled(this.stages.map((s) => s.pending));
    await this.closeDirect().catch(() => undefined);
    await this.file.abort();
  }

  private async closeDirect(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.direct?.close();
  }

  /**
   * Starts writing the current stage's whole blocks and moves to the other stage (waiting for its
   * previous write); bytes past the last whole block are carried over, so every stage write starts
   * and ends on a block boundary, as O_DIRECT requires.
   */
  private async rotate(): Promise<void> {
    const stage = this.stages[this.current]!;
    const whole = stage.used - (stage.used % DIRECT_ALIGN);
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
    await writeAll(this.file.handle, buf, length, position);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (this.direct && length / seconds < this.switchBytesPerSecond) this.useDirect = true;
  }

  private async flushAll(): Promise<void> {
    await Promise.all(this.stages.map((s) => s.pending));
    const stage = this.stages[this.current]!;
    if (stage.used === 0) return;
    // O_DIRECT needs whole blocks: a partial last block goes through the page cache.
    const whole = this.useDirect ? stage.used - (stage.used % DIRECT_ALIGN) : 0;
    if (whole) await writeAll(this.direct!, stage.buf, whole, this.stageOffset);
    if (whole < stage.used) await writeAll(this.file.handle, stage.buf.subarray(whole), stage.used - whole, this.stageOffset + whole);
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
 * (EINVAL otherwise); the probe's zeros at offset 0 are overwritten by the first stage.
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

/** Two caller-provided stage buffers, when they are usable. */
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
