/**
 * Tensors llama.cpp expects that a Hugging Face checkpoint does not store: per-dimension rope
 * frequency factors computed from the config (Llama 3's "llama3" rope scaling, Phi-3's long/short
 * factors). Computed in float32 step by step, as llama.cpp's converter computes them with torch.
 */
import { FormatError } from '../errors';
import type { Hparams } from './hparams';

export interface GeneratedTensor {
  name: string;
  data: Float32Array;
}

const f = Math.fround;

/** Llama 3.1+ "llama3" rope scaling -> `rope_freqs.weight` (one factor per rotary pair). */
export function llama3RopeFreqs(h: Hparams): GeneratedTensor | undefined {
  const rope = h.rope;
  if (rope.type?.toLowerCase() !== 'llama3') return undefined;
  const p = rope.params;
  const num = (key: string, dflt: number): number => (typeof p[key] === 'number' ? (p[key] as number) : dflt);
  const base = rope.theta ?? 10000;
  const dim = h.num('head_dim') ?? h.hiddenSize / h.numHeads;
  const factor = num('factor', 8);
  const lowFreqFactor = num('low_freq_factor', 1);
  const highFreqFactor = num('high_freq_factor', 4);
  const oldContext = num('original_max_position_embeddings', 8192);
  const lowWavelen = oldContext / lowFreqFactor;
  const highWavelen = oldContext / highFreqFactor;
  const out = new Float32Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) {
    const freq = f(1 / f(base ** f(f(2 * i) / dim)));
    const wavelen = f((2 * Math.PI) / freq);
    if (wavelen < highWavelen) out[i] = 1;
    else if (wavelen > lowWavelen) out[i] = factor;
    else {
      const smooth = f(f(f(oldContext / wavelen) - lowFreqFactor) / (highFreqFactor - lowFreqFactor));
      out[i] = 1 / f(f(f(1 - smooth) / factor) + smooth);
    }
  }
  return { name: 'rope_freqs.weight', data: out };
}

/** Phi-3 long-context (longrope/su) scaling -> rope_factors_long/short. */
export function phi3RopeFactors(h: Hparams): GeneratedTensor[] {
  const p = h.rope.params;
  const long = p.long_factor;
  const short = p.short_factor;
  if (!Array.isArray(long) || long.length === 0) return [];
  const ropeDims = Math.floor((phi3PartialRotary(h) * h.hiddenSize) / h.numHeads);
  if (!Array.isArray(short) || long.length !== short.length || long.length !== ropeDims / 2) {
    throw new FormatError(`rope_scaling long_factor/short_factor must both have ${ropeDims / 2} entries`, { path: h.source });
  }
  return [
    { name: 'rope_factors_long.weight', data: Float32Array.from(long as number[]) },
    { name: 'rope_factors_short.weight', data: Float32Array.from(short as number[]) },
  ];
}

export function phi3PartialRotary(h: Hparams): number {
  const p = h.rope.params.partial_rotary_factor;
  return typeof p === 'number' ? p : (h.num('partial_rotary_factor') ?? 1);
}
