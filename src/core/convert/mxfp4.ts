/**
 * MXFP4 experts, repacked without dequantizing. The checkpoint (OCP microscaling, as transformers
 * and OpenAI store it) keeps per 32 values one E8M0 scale byte in `*_scales` and 16 bytes of E2M1
 * codes in `*_blocks`, value 2k in the low nibble of byte k and 2k+1 in the high nibble. ggml's
 * block_mxfp4 (17 bytes) holds the scale byte first, then 16 bytes where byte j carries value j in
 * its low nibble and value j+16 in its high nibble. The codes and the scale byte mean the same in
 * both (value = E2M1(code) * 2^(scale - 127)); only the nibble order changes, so the repack is exact.
 */
import { FormatError, throwIfCancelled } from '../errors';
import { readFully } from '../formats/file-reader';
import type { Mxfp4Source, TensorRecipe } from './recipe';
import type { TensorDataContext, TensorSink } from './tensor-data';

/** Bytes of one ggml MXFP4 block (scale + 16 code bytes) and of one checkpoint block's codes. */
export const GGML_MXFP4_BLOCK_BYTES = 17;
const CODE_BYTES = 16;
/** Source bytes (blocks + scales) per chunk. */
const CHUNK_BYTES = 8 << 20;

/**
 * Repacks `count` blocks: codes (16 bytes each) and scales (1 byte each) -> ggml blocks (17 bytes).
 * Output byte 1 + 2k holds values 2k and 2k + 16, byte 2 + 2k values 2k + 1 and 2k + 17: the low
 * and high nibbles of source bytes k and 8 + k.
 */
export function repackMxfp4Blocks(codes: Uint8Array, scales: Uint8Array, count: number, out: Uint8Array): void {
  for (let b = 0; b < count; b++) {
    const s = b * CODE_BYTES;
    const o = b * GGML_MXFP4_BLOCK_BYTES;
    out[o] = scales[b]!;
    for (let k = 0; k < 8; k++) {
      const lo = codes[s + k]!;
      const hi = codes[s + 8 + k]!;
      out[o + 1 + 2 * k] = (lo & 0x0f) | ((hi & 0x0f) << 4);
      out[o + 2 + 2 * k] = (lo >> 4) | (hi & 0xf0);
    }
  }
}

interface Chunk {
  expert: number;
  /** First output row of the chunk within its expert, and how many. */
  row: number;
  rows: number;
}

function chunksOf(src: Mxfp4Source, experts: number, groups: number): Chunk[] {
  const sourceRowBytes = groups * (CODE_BYTES + 1) * src.rowStep;
  const step = Math.max(1, Math.floor(CHUNK_BYTES / sourceRowBytes));
  const chunks: Chunk[] = [];
  for (let e = 0; e < experts; e++) {
    for (let row = 0; row < src.rows; row += step) chunks.push({ expert: e, row, rows: Math.min(step, src.rows - row) });
  }
  return chunks;
}

interface ReadChunk {
  codes: Uint8Array;
  scales: Uint8Array;
}

/** Streams one MXFP4 recipe's ggml blocks into `sink`, reading one chunk ahead. */
export async function writeMxfp4Tensor(r: TensorRecipe, sink: TensorSink, ctx: TensorDataContext): Promise<void> {
  const src = r.mxfp4!;
  const [experts, sourceRows, groups] = src.scales.shape as [number, number, number];
  if (src.firstRow + (src.rows - 1) * src.rowStep >= sourceRows) {
    throw new FormatError(`${r.name}: rows ${src.firstRow}+${src.rowStep}k do not fit the ${sourceRows} rows of ${src.scales.name}`, {
      tensor: src.scales.name,
    });
  }
  const chunks = chunksOf(src, experts, groups);
  const span = (c: Chunk) => (c.rows - 1) * src.rowStep + 1;
  // Two buffer pairs: one chunk being repacked while the next one is read.
  const maxRows = Math.max(0, ...chunks.map(span));
  const buffers = [0, 1].map(() => ({ codes: new Uint8Array(maxRows * groups * CODE_BYTES), scales: new Uint8Array(maxRows * groups) }));
  const read = async (c: Chunk, k: number): Promise<ReadChunk> => {
    const firstSourceRow = c.expert * sourceRows + src.firstRow + c.row * src.rowStep;
    const rows = span(c);
    const codes = buffers[k % 2]!.codes.subarray(0, rows * groups * CODE_BYTES);
    const scales = buffers[k % 2]!.scales.subarray(0, rows * groups);
    const [codeFile, scaleFile] = await Promise.all([ctx.files.get(src.blocks.file), ctx.files.get(src.scales.file)]);
    await Promise.all([
      readFully(codeFile, codes, src.blocks.dataOffset + firstSourceRow * groups * CODE_BYTES, codes.byteLength, src.blocks.file),
      readFully(scaleFile, scales, src.scales.dataOffset + firstSourceRow * groups, scales.byteLength, src.scales.file),
    ]);
    return { codes, scales };
  };
  let next: Promise<ReadChunk> | undefined = chunks.length ? read(chunks[0]!, 0) : undefined;
  for (let i = 0; i < chunks.length; i++) {
    throwIfCancelled(ctx.signal);
    const c = chunks[i]!;
    const data = await next!;
    next = i + 1 < chunks.length ? read(chunks[i + 1]!, i + 1) : undefined;
    next?.catch(() => undefined); // surfaced when awaited
    const bytes = c.rows * groups * GGML_MXFP4_BLOCK_BYTES;
    const useReserve = sink.reserve && sink.commit && bytes <= (sink.maxReserve ?? 0);
    const out = useReserve ? await sink.reserve!(bytes) : new Uint8Array(bytes);
    for (let row = 0; row < c.rows; row++) {
      const s = row * src.rowStep * groups;
      repackMxfp4Blocks(
        data.codes.subarray(s * CODE_BYTES, (s + groups) * CODE_BYTES),
        data.scales.subarray(s, s + groups),
        groups,
        out.subarray(row * groups * GGML_MXFP4_BLOCK_BYTES),
      );
    }
    if (useReserve) await sink.commit!(bytes);
    else await sink.write(out);
    ctx.onBytes?.(bytes);
  }
}
