/**
 * Attention with learned sinks (gpt-oss): each head's softmax has one more logit, a learned
 * constant, that takes weight without contributing a value. Without a sink, an error in the query
 * or key projection only moves weight between tokens, and the softmax damps it (the prior gains of
 * attn_q/attn_k say so). With one, the same error also moves weight to or from the sink, which
 * scales the head's whole output up or down: score errors reach the residual stream more directly.
 */
import type { ArchitectureInfo } from '../arch/types';
import type { TensorKind } from './types';

/** How much more a query/key projection's noise costs with attention sinks. */
export const SINK_SCORE_FACTOR = 1.5;

export function sinkAdjustment(arch: ArchitectureInfo, kind: TensorKind): { factor: number; because: string } | null {
  if (!arch.attentionSinks || (kind !== 'attn_q' && kind !== 'attn_k')) return null;
  return {
    factor: SINK_SCORE_FACTOR,
    because:
      `learned attention sinks (kept F32): score errors also move weight to or from the sink, ` +
      `scaling the head's output (x${SINK_SCORE_FACTOR})`,
  };
}
