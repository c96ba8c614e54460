/**
 * Named limits for every count and size a model's own files declare (config.json fields, GGUF
 * metadata), checked before anything is allocated or looped over. Each is far above what released
 * models use; where llama.cpp has a hard limit we take it, since a model it cannot load is of no
 * use here. A value past a limit is a corrupt or hostile file (FormatError), never a slow run.
 */

/** Decoder layers: llama.cpp's LLAMA_MAX_LAYERS (largest released models: ~130). */
export const MAX_LAYERS = 512;
/** Routed experts per layer: llama.cpp's LLAMA_MAX_EXPERTS (largest released: 512). */
export const MAX_EXPERTS = 1024;
/** Width of the residual stream (largest released: 18432). */
export const MAX_HIDDEN_SIZE = 1 << 17;
/** Width of one FFN, dense or expert (largest released: ~60k). */
export const MAX_FFN_SIZE = 1 << 20;
/** Attention heads per layer (largest released: 128). */
export const MAX_HEADS = 1 << 12;
/** Width of one attention head (largest released: 256; MLA's latent keys 576). */
export const MAX_HEAD_SIZE = 1 << 13;
/** Vocabulary entries (largest released: ~260k). */
export const MAX_VOCAB_SIZE = 1 << 24;
/** Trained context in tokens (largest released: 10M). */
export const MAX_CONTEXT_LENGTH = 1 << 28;
/** Low-rank projections (MLA ranks, LoRA-style ranks; largest released: 1536). */
export const MAX_RANK = 1 << 16;
/** RoPE base frequency (largest released: ~1e9; 1e12 leaves three orders of magnitude). */
export const MAX_ROPE_THETA = 1e12;
/** RoPE scaling factor (largest released: 64). */
export const MAX_ROPE_SCALING_FACTOR = 1e6;
/** A normalisation epsilon lies in (0, MAX_NORM_EPSILON). */
export const MAX_NORM_EPSILON = 1;
/** Attention or final-logit soft-capping (released models: 30 and 50). */
export const MAX_LOGIT_SOFTCAP = 1e6;

/** A count read from a model file: what it is, and its limit. */
export interface CountKind {
  /** For messages: "layer count", "hidden size". */
  readonly what: string;
  readonly max: number;
  /** The constant's name, quoted in messages so a user can find the rule. */
  readonly limitName: string;
  /** Whether 0 is a meaningful value (no experts, no sliding window, an FFN-less layer). */
  readonly zeroAllowed: boolean;
}

const kind = (what: string, max: number, limitName: string, zeroAllowed: boolean): CountKind => ({ what, max, limitName, zeroAllowed });

export const COUNT_KINDS = {
  layers: kind('layer count', MAX_LAYERS, 'MAX_LAYERS', false),
  /** Multi-token-prediction layers, which may be absent. */
  extraLayers: kind('extra layer count', MAX_LAYERS, 'MAX_LAYERS', true),
  hidden: kind('hidden size', MAX_HIDDEN_SIZE, 'MAX_HIDDEN_SIZE', false),
  ffn: kind('feed-forward width', MAX_FFN_SIZE, 'MAX_FFN_SIZE', true),
  heads: kind('attention head count', MAX_HEADS, 'MAX_HEADS', true),
  kvHeads: kind('key/value head count', MAX_HEADS, 'MAX_HEADS', false),
  headSize: kind('head size', MAX_HEAD_SIZE, 'MAX_HEAD_SIZE', false),
  /** Rotated dimensions per head; 0 means no rotary embedding. */
  ropeDims: kind('rotary dimension count', MAX_HEAD_SIZE, 'MAX_HEAD_SIZE', true),
  vocab: kind('vocabulary size', MAX_VOCAB_SIZE, 'MAX_VOCAB_SIZE', false),
  context: kind('context length', MAX_CONTEXT_LENGTH, 'MAX_CONTEXT_LENGTH', false),
  window: kind('sliding window', MAX_CONTEXT_LENGTH, 'MAX_CONTEXT_LENGTH', true),
  experts: kind('expert count', MAX_EXPERTS, 'MAX_EXPERTS', true),
  expertsUsed: kind('experts-per-token count', MAX_EXPERTS, 'MAX_EXPERTS', true),
  rank: kind('projection rank', MAX_RANK, 'MAX_RANK', false),
} as const satisfies Record<string, CountKind>;

export type CountKindName = keyof typeof COUNT_KINDS;
