/**
 * ArchitectureInfo: what Llama-Pajamas knows about a model before planning its quantization.
 * Field names are part of the CLI's `detect --json` contract; add fields, never rename them.
 */

export type ModelFamily = 'dense' | 'moe' | 'hybrid' | 'hybrid_moe';
export type AttentionKind = 'mha' | 'gqa' | 'mqa' | 'mla';
export type AttentionPattern = 'uniform' | 'alternating' | 'hybrid';

/**
 * What one decoder layer does for token mixing. Softmax attention is `full_attention` or
 * `sliding_attention`; everything else makes the model a hybrid.
 */
export type LayerKind =
  | 'full_attention'
  | 'sliding_attention'
  | 'chunked_attention'
  | 'linear_attention'
  | 'mamba'
  /** LFM2-style gated short convolution. */
  | 'short_conv'
  | 'mlp_only';

export interface MoeInfo {
  numExperts: number;
  numExpertsPerToken: number;
  numSharedExperts: number;
  /** Width of one routed expert's FFN. */
  expertIntermediateSize: number;
  /** Width of the shared expert(s) FFN, all shared experts together (0 when none). */
  sharedIntermediateSize: number;
  /** Layers whose FFN is dense rather than routed (e.g. DeepSeek's first_k_dense_replace). */
  denseLayers: number[];
}

export interface MlaInfo {
  /** Rank of the query low-rank projection; null when queries are projected directly. */
  qLoraRank: number | null;
  kvLoraRank: number;
  qkNopeHeadDim: number;
  qkRopeHeadDim: number;
  vHeadDim: number;
}

export interface RopeInfo {
  theta: number | null;
  /** The config's rope scaling object as given (type, factor, ...), or null. */
  scaling: Record<string, unknown> | null;
  /** Fraction of each head's dims that are rotated (1 = all). */
  partialRotaryFactor: number;
}

/** Quantization already present in the source weights (FP8, MXFP4, NVFP4, GPTQ, ...). */
export interface SourceQuantization {
  method: string;
  details: Record<string, unknown>;
}

export interface ParameterCount {
  total: number;
  active: number;
}

export interface ArchitectureInfo {
  /** Where it came from: a folder, a config.json, a .gguf file or a Hub repo id. */
  source: string;
  /** The text model's model_type (for GGUF input: general.architecture). */
  modelType: string;
  /** HF `architectures` (class names), or [] when unknown. */
  architectures: string[];
  family: ModelFamily;
  attention: AttentionKind;
  numLayers: number;
  hiddenSize: number;
  /** Dense FFN width (0 when every layer is MoE and the config has none). */
  intermediateSize: number;
  numAttentionHeads: number;
  /** null for MLA, whose key/value heads are not a separate count. */
  numKeyValueHeads: number | null;
  headDim: number;
  /** Query heads per key/value head; 1 for MHA; null for MLA. */
  gqaRatio: number | null;
  contextLength: number;
  vocabSize: number;
  /** Window size when some layer uses sliding-window attention, else null. */
  slidingWindow: number | null;
  attentionPattern: AttentionPattern;
  /** One entry per decoder layer. */
  layerTypes: LayerKind[];
  moe: MoeInfo | null;
  mla: MlaInfo | null;
  tiedEmbeddings: boolean;
  rope: RopeInfo;
  attentionSinks: boolean;
  /** Final-logit soft-capping value (Gemma 2), or null. */
  finalLogitSoftcap: number | null;
  sourceQuantization: SourceQuantization | null;
  /** Weight dtype as declared (torch_dtype / dtype), or the GGUF file type. */
  dtype: string | null;
  parameters: ParameterCount;
  /** "weights" when counted from tensor shapes, "computed" when derived from the config. */
  parametersSource: 'weights' | 'computed';
  warnings: string[];
}
