/**
 * Named limits of manifest.json. A manifest may come from the Hub or a colleague: it is untrusted
 * input, and every count and number in it is bounded before anything loops over it or opens a file
 * it names. The JSON Schema (schemas/manifest.schema.json) states the same bounds as maxItems,
 * maxLength and maximum; a unit test keeps the two equal.
 */
import {
  MAX_CONTEXT_LENGTH,
  MAX_EXPERTS,
  MAX_HEADS,
  MAX_HEAD_SIZE,
  MAX_HIDDEN_SIZE,
  MAX_LAYERS,
  MAX_VOCAB_SIZE,
} from '../arch/hyperparameter-limits';

/** Bytes of manifest.json (a large MoE's expert coverage is a few MB). */
export const MANIFEST_MAX_BYTES = 64 * 1024 * 1024;
/** Artifacts in one manifest (every target x strategy x format is a few dozen). */
export const MANIFEST_MAX_ARTIFACTS = 256;
/** Files of one MLX artifact (weight shards, config, tokenizer). */
export const MANIFEST_MAX_ARTIFACT_FILES = 4096;
/** Plan records (one per target and strategy). */
export const MANIFEST_MAX_PLANS = 256;
/** Files of the source model (shards of the largest checkpoints: a few hundred). */
export const MANIFEST_MAX_SOURCE_FILES = 10_000;
/** Planned fallbacks per plan or artifact (at most one per tensor). */
export const MANIFEST_MAX_FALLBACKS = 1 << 20;
/** Characters of a path recorded in the manifest. */
export const MANIFEST_MAX_PATH_CHARS = 4096;
/** Characters of an artifact id or the model name. */
export const MANIFEST_MAX_NAME_CHARS = 255;
/** Byte sizes and parameter counts are exact integers (Number.MAX_SAFE_INTEGER). */
export const MANIFEST_MAX_INTEGER = Number.MAX_SAFE_INTEGER;
/** Bits per weight (F64 is 64). */
export const MANIFEST_MAX_BPW = 64;
/** Calibration or evaluation chunks. */
export const MANIFEST_MAX_CHUNKS = 1 << 24;
/** Calibration top-up rounds. */
export const MANIFEST_MAX_ROUNDS = 1000;

/** The architecture record's bounds: the same limits detection applies to the model's own files. */
export const MANIFEST_ARCHITECTURE_MAXIMA = {
  numLayers: MAX_LAYERS,
  hiddenSize: MAX_HIDDEN_SIZE,
  numAttentionHeads: MAX_HEADS,
  numKeyValueHeads: MAX_HEADS,
  headDim: MAX_HEAD_SIZE,
  gqaRatio: MAX_HEADS,
  contextLength: MAX_CONTEXT_LENGTH,
  vocabSize: MAX_VOCAB_SIZE,
  slidingWindow: MAX_CONTEXT_LENGTH,
  numExperts: MAX_EXPERTS,
  numExpertsPerToken: MAX_EXPERTS,
  numSharedExperts: MAX_EXPERTS,
} as const;
