/**
 * manifest.json: one document describing every artifact made from one model, how it was made and
 * how good it is. The JSON Schema in schemas/manifest.schema.json is the contract; these types
 * mirror it. Paths inside a manifest are relative to the manifest's folder.
 */
import type { ArchitectureInfo } from '../arch/types';
import type { PlanStrategy, PlanTarget } from '../plan/types';

export const MANIFEST_VERSION = 1;
export const MANIFEST_SCHEMA_ID = 'https://llama-pajamas.dev/schemas/manifest-1.schema.json';
export const MANIFEST_FILE = 'manifest.json';

export interface FileDigest {
  /** Relative to the manifest folder (artifact files) or to the source folder (source files). */
  path: string;
  sizeBytes: number;
  sha256: string;
}

export interface SourceFile extends FileDigest {
  /** Modification time when hashed, so an unchanged file is not hashed again. */
  mtimeMs: number;
}

export interface ManifestSource {
  kind: 'hf-folder' | 'gguf' | 'hub';
  /** Absolute path of the folder or file the model was read from (for hub: the local snapshot). */
  path: string;
  /** For a Hub model: `org/name`, the revision asked for, and the commit it named (absent in older manifests). */
  repoId: string | null;
  revision: string | null;
  commit?: string | null;
  files: SourceFile[];
}

export interface ToolVersions {
  llamaPajamas: string;
  llamaCpp: { release: string; commit: string | null };
  nodeLlamaCpp: string | null;
}

export interface TextRef {
  name: string;
  sha256: string;
}

export interface ExpertCoverage {
  /** Per layer, routed-token counts per expert as llama-imatrix counted them. */
  countsPerLayer: number[][];
  /** Experts that stayed under the threshold after the calibration top-ups. */
  underCovered: { layer: number; expert: number; tokens: number }[];
  threshold: { minTokens: number; minFractionOfLayerMean: number };
  rounds: number;
}

export interface Calibration {
  text: TextRef;
  /** Hash of the model, text and tool the imatrix was computed from. */
  inputsKey: string;
  /** The imatrix file, relative to the manifest folder. */
  imatrix: FileDigest;
  chunks: number;
  expertCoverage: ExpertCoverage | null;
}

export interface TensorFallback {
  tensor: string;
  wanted: string;
  actual: string;
  reason: string;
}

export interface PlanRecord {
  target: PlanTarget;
  strategy: PlanStrategy;
  sizeBytes: number;
  bpw: number;
  stockSizeBytes: number;
  stockBpw: number;
  /** Tensor kind -> GGUF type -> count, e.g. {"attn_v": {"Q6_K": 3, "Q5_K": 3}}. */
  kindTypes: Record<string, Record<string, number>>;
  fallbacks: TensorFallback[];
}

export interface QualityResult {
  text: TextRef;
  contextSize: number;
  ppl: number;
  /** KL divergence and top-1 agreement against the F16 baseline (null without one). */
  kldMean: number | null;
  kldP99: number | null;
  top1: number | null;
  pplRatio: number | null;
  gate: { thresholdPct: number; passed: boolean } | null;
  evaluatedAt: string;
}

export interface ArtifactBase {
  /** Unique within the manifest; the artifact's file or folder name without extension. */
  id: string;
  path: string;
  strategy: PlanStrategy;
  imatrix: boolean;
  sizeBytes: number;
  bpw: number;
  /** Hash of everything the artifact was made from; equal keys mean nothing needs rebuilding. */
  inputsKey: string;
  createdAt: string;
  quality: QualityResult | null;
}

/**
 * A finished pajamas GGUF measured against the stock recipe's file (same target, same importance
 * matrix) on the calibration text, never the evaluation text.
 */
export interface StockCheck {
  text: TextRef;
  contextSize: number;
  chunks: number;
  /** Mean KL divergence against F16 of the pajamas plan's file and of the stock recipe's file. */
  kldMean: number;
  stockKldMean: number;
  /** 'stock': the pajamas plan was not better, and the artifact holds the stock recipe's file instead. */
  kept: 'pajamas' | 'stock';
  /** One line saying why, with both numbers. */
  reason: string;
  /** The artifact's inputs, the text and the settings of the check; equal keys mean it need not run again. */
  inputsKey: string;
  /** Wall time of the check (stock file, baseline pass and both KL-divergence passes). */
  durationMs: number;
}

export interface GgufArtifact extends ArtifactBase {
  format: 'gguf';
  target: PlanTarget;
  sha256: string;
  /** GGUF type -> tensor count in the file. */
  tensorTypes: Record<string, number>;
  fallbacks: TensorFallback[];
  /** Pajamas artifacts: the check against stock (absent in manifests written before it existed). */
  stockCheck?: StockCheck | null;
}

export interface MlxArtifact extends ArtifactBase {
  format: 'mlx';
  /** e.g. "mlx-4bit". */
  target: string;
  bits: number;
  groupSize: number;
  files: FileDigest[];
  /** Bits -> count of quantized tensors; "keep" for unquantized ones. */
  tensorBits: Record<string, number>;
}

export type Artifact = GgufArtifact | MlxArtifact;

/**
 * What reports show of an artifact: a manifest's artifact, or a bare GGUF file evaluated on its
 * own, which has no strategy, imatrix, target or (for MLX) bits per weight to tell.
 */
export interface ArtifactSummary {
  id: string;
  /** Absolute path: a .gguf file, or an MLX folder. */
  path: string;
  format: Artifact['format'];
  strategy: PlanStrategy | null;
  imatrix: boolean | null;
  target: Artifact['target'] | null;
  sizeBytes: number;
  bpw: number | null;
}

export interface Baseline {
  /** The F16 intermediate, relative to the manifest folder; may have been deleted (kept: false). */
  path: string;
  sizeBytes: number | null;
  sha256: string | null;
  /** Hash of what it was made from (null for a GGUF input, which is its own baseline). */
  inputsKey: string | null;
  kept: boolean;
  quality: { text: TextRef; contextSize: number; ppl: number } | null;
}

export interface Manifest {
  $schema: string;
  manifestVersion: number;
  model: string;
  createdAt: string;
  updatedAt: string;
  source: ManifestSource;
  architecture: ArchitectureInfo;
  tools: ToolVersions;
  calibration: Calibration | null;
  plans: PlanRecord[];
  baseline: Baseline | null;
  artifacts: Artifact[];
}
