/**
 * Recipes whose elements move, not just change type: `pick` keeps every step-th element of each
 * source row (gpt-oss's interleaved gate/up units), `transpose` writes each segment transposed
 * (gpt-oss's dequantized experts are [experts, in, out]). Elements are converted to the output type
 * first, then moved as 2- or 4-byte words. A transposed segment is read whole (one expert matrix);
 * other segments go in chunks of whole rows.
 */
import { throwIfCancelled } from '../errors';
import { readFully } from '../formats/file-reader';
import { convertElements, dtypeBytes } from './kernels';
import type { SourceSegment, TensorRecipe } from './recipe';
import type { Buffers, TensorDataContext, TensorSink } from './tensor-data';

/** Source bytes per chunk of a segment that is not transposed. */
const CHUNK_BYTES = 8 << 20;
/** Tile edge of the blocked transpose (keeps both sides in cache). */
const TILE = 64;

type Words = Uint16Array | Uint32Array;

function words(bytes: Uint8Array, elementBytes: number): Words {
  return elementBytes === 2
    ? new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2)
    : new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

/**
 * Moves the `rows` x `rowLength` matrix `src` into `dst`: columns start, start + step, ...
 * (`count` of them), transposed when asked ([count, rows] instead of [rows, count]).
 */
export function rearrangeWords(
  src: Words,
  dst: Words,
  rows: number,
  rowLength: number,
  pick: { start: number; step: number; count: number },
  transpose: boolean,
): void {
  const { start, step, count } = pick;
  if (!transpose) {
    for (let r = 0; r < rows; r++) {
      const s = r * rowLength + start;
      const d = r * count;
      for (let c = 0; c < count; c++) dst[d + c] = src[s + c * step]!;
    }
    return;
  }
  for (let r0 = 0; r0 < rows; r0 += TILE) {
    const r1 = Math.min(rows, r0 + TILE);
    for (let c0 = 0; c0 < count; c0 += TILE) {
      const c1 = Math.min(count, c0 + TILE);
      for (let r = r0; r < r1; r++) {
        const s = r * rowLength + start;
        for (let c = c0; c < c1; c++) dst[c * rows + r] = src[s + c * step]!;
      }
    }
  }
}

interface Piece {
  segment: SourceSegment;
  firstRow: number;
  rows: number;
}

function piecesOf(r: TensorRecipe): Piece[] {
  const pieces: Piece[] = [];
  for (const segment of r.segments) {
    const rowBytes = segment.rowLength * dtypeBytes(segment.tensor.dtype);
    const step = r.transform.transpose ? segment.rows : Math.max(1, Math.floor(CHUNK_BYTES / rowBytes));
    for (let row = 0; row < segment.rows; row += step) {
      pieces.push({ segment, firstRow: segment.firstRow + row, rows: Math.min(step, segment.rows - row) });
    }
  }
  return pieces;
}

/** Streams a recipe with `pick` and/or `transpose` into `sink`. */
export async function writeRearranged(r: TensorRecipe, sink: TensorSink, ctx: TensorDataContext & { buffers: Buffers }): Promise<void> {
  const { buffers } = ctx;
  const outBytes = dtypeBytes(r.type);
  for (const [i, p] of piecesOf(r).entries()) {
    throwIfCancelled(ctx.signal);
    const { segment } = p;
    const pick = r.transform.pick ?? { start: 0, step: 1, count: segment.rowLength };
    const elements = p.rows * segment.rowLength;
    const src = buffers.source(i, elements * dtypeBytes(segment.tensor.dtype));
    const rowBytes = segment.rowLength * dtypeBytes(segment.tensor.dtype);
    const handle = await ctx.files.get(segment.tensor.file);
    await readFully(handle, src, segment.tensor.dataOffset + p.firstRow * rowBytes, src.byteLength, segment.tensor.file);
    // Convert every element to the output type (scratch), then move the kept ones.
    const converted = buffers.permute(i, elements * outBytes);
    if (!convertElements(src, segment.tensor.dtype, converted, r.type, elements, () => buffers.scratch(elements))) {
      converted.set(src.subarray(0, elements * outBytes));
    }
    const out = new Uint8Array(p.rows * pick.count * outBytes);
    rearrangeWords(words(converted, outBytes), words(out, outBytes), p.rows, segment.rowLength, pick, r.transform.transpose ?? false);
    await sink.write(out);
    ctx.onBytes?.(out.byteLength);
  }
}
