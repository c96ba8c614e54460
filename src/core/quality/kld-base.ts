/**
 * The file llama-perplexity writes with `--kl-divergence-base` (tools/perplexity/perplexity.cpp,
 * perplexity() and process_logits()): the baseline's log-probabilities of every scored token, read
 * back by `--kl-divergence` runs of the quantized models.
 *
 *   "_logits_"            8 bytes
 *   n_ctx                 u32
 *   n_vocab               i32
 *   n_chunk               i32
 *   tokens                i32 x n_chunk x n_ctx
 *   per chunk, per scored token (n_ctx - 1 - n_ctx/2 of them: the second half of the chunk):
 *     scale, min_log_prob f32 x 2, then u16 x nv, nv = 2*ceil(n_vocab/2) + 4 counted in u16 units
 *     (the two floats occupy its first four u16 slots), log p = scale * q + min_log_prob.
 *
 * So the file is about (tokens / 2) x vocabulary x 2 bytes: it is sized here before it is made.
 */
import { open, stat } from 'node:fs/promises';
import { FormatError } from '../errors';

export const KLD_BASE_MAGIC = '_logits_';
/** Magic, n_ctx, n_vocab, n_chunk. */
export const KLD_BASE_HEADER_BYTES = 8 + 4 + 4 + 4;

export interface KldBaseHeader {
  nCtx: number;
  nVocab: number;
  nChunk: number;
}

/** Tokens scored per chunk: llama-perplexity scores positions n_ctx/2 .. n_ctx-2 (predicting the next). */
export function scoredTokensPerChunk(nCtx: number): number {
  return nCtx - 1 - Math.floor(nCtx / 2);
}

/** u16 slots per scored token: the vocabulary rounded up to even, plus 4 for scale and minimum. */
export function rowSlots(nVocab: number): number {
  return 2 * Math.floor((nVocab + 1) / 2) + 4;
}

/** The exact size of a base file for `nChunk` chunks of `nCtx` tokens over an `nVocab` vocabulary. */
export function kldBaseBytes(h: KldBaseHeader): number {
  return KLD_BASE_HEADER_BYTES + h.nChunk * h.nCtx * 4 + h.nChunk * kldBaseChunkRowBytes(h.nCtx, h.nVocab);
}

/** Bytes of log-probabilities per chunk (the part that grows with the vocabulary). */
export function kldBaseChunkRowBytes(nCtx: number, nVocab: number): number {
  return scoredTokensPerChunk(nCtx) * rowSlots(nVocab) * 2;
}

/** Bytes one more chunk adds to a base file. */
export function kldBaseBytesPerChunk(nCtx: number, nVocab: number): number {
  return nCtx * 4 + kldBaseChunkRowBytes(nCtx, nVocab);
}

export async function readKldBaseHeader(file: string): Promise<KldBaseHeader> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(KLD_BASE_HEADER_BYTES);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    if (bytesRead < buf.length || buf.toString('latin1', 0, 8) !== KLD_BASE_MAGIC) {
      throw new FormatError(`not a llama-perplexity KL-divergence base file (no "${KLD_BASE_MAGIC}" header)`, { path: file, offset: 0 });
    }
    return { nCtx: buf.readUInt32LE(8), nVocab: buf.readInt32LE(12), nChunk: buf.readInt32LE(16) };
  } finally {
    await fh.close();
  }
}

/**
 * Reads the header and checks that the file has exactly the size it implies, so a truncated file
 * (a tool killed mid-write) is never taken for a complete one.
 */
export async function checkKldBaseFile(file: string, expected?: Partial<KldBaseHeader>): Promise<KldBaseHeader> {
  const header = await readKldBaseHeader(file);
  if (header.nCtx <= 1 || header.nVocab <= 0 || header.nChunk <= 0) {
    throw new FormatError(
      `KL-divergence base file has an impossible header (n_ctx ${header.nCtx}, n_vocab ${header.nVocab}, n_chunk ${header.nChunk})`,
      { path: file },
    );
  }
  for (const key of ['nCtx', 'nVocab', 'nChunk'] as const) {
    const want = expected?.[key];
    if (want !== undefined && want !== header[key]) {
      throw new FormatError(`KL-divergence base file has ${key} ${header[key]}, expected ${want}`, { path: file });
    }
  }
  const size = (await stat(file)).size;
  const want = kldBaseBytes(header);
  if (size !== want) {
    throw new FormatError(
      `KL-divergence base file is ${size} bytes, but its header implies ${want}: it is incomplete or corrupt; delete it`,
      { path: file },
    );
  }
  return header;
}

/**
 * The baseline's perplexity recomputed from a base file: exp of the mean of -(scale*q[tok] + min)
 * over the scored tokens, in the tool's float arithmetic. It equals what a --kl-divergence run
 * prints as "Mean PPL(base)" (the 16-bit log-probabilities differ from the float ones by at most
 * scale/2, and tokens less likely than e^-16 times the best one are clamped); used when the base
 * run's own "Final estimate" line was lost.
 */
export async function pplFromKldBase(file: string): Promise<number> {
  const h = await checkKldBaseFile(file);
  const fh = await open(file, 'r');
  try {
    const tokens = Buffer.alloc(h.nChunk * h.nCtx * 4);
    await fh.read(tokens, 0, tokens.length, KLD_BASE_HEADER_BYTES);
    const rowBytes = rowSlots(h.nVocab) * 2;
    const scored = scoredTokensPerChunk(h.nCtx);
    const first = Math.floor(h.nCtx / 2);
    const rowsStart = KLD_BASE_HEADER_BYTES + tokens.length;
    const head = Buffer.alloc(8);
    const q = Buffer.alloc(2);
    let sum = 0;
    for (let c = 0; c < h.nChunk; c++) {
      for (let i = 0; i < scored; i++) {
        const tok = tokens.readInt32LE((c * h.nCtx + first + i + 1) * 4);
        const row = rowsStart + (c * scored + i) * rowBytes;
        await fh.read(head, 0, 8, row);
        await fh.read(q, 0, 2, row + 8 + tok * 2);
        const scale = head.readFloatLE(0);
        const minLogProb = head.readFloatLE(4);
        sum += -Math.fround(Math.fround(scale * q.readUInt16LE(0)) + minLogProb);
      }
    }
    return Math.exp(sum / (h.nChunk * scored));
  } finally {
    await fh.close();
  }
}
