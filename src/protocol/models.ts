/**
 * What `pajamas/listModels` answers: the models and artifacts the Pajamas view shows, one list
 * per section. Paths are absolute. Sizes are from directory listings (no file is read whole).
 */

export type ModelKind = 'hf-folder' | 'gguf';

/** A model in the Hugging Face hub cache (one snapshot of one repo). */
export interface HfCacheModel {
  repoId: string;
  /** The snapshot folder (or the .gguf inside it) a job reads. */
  path: string;
  kind: ModelKind;
  revision: string | null;
  sizeBytes: number | null;
}

/** A model inside a workspace folder: a folder with config.json + *.safetensors, or a .gguf file. */
export interface WorkspaceModel {
  name: string;
  path: string;
  kind: ModelKind;
  /** config.json's model_type, when it says. */
  modelType: string | null;
  sizeBytes: number;
}

export interface ArtifactQualitySummary {
  ppl: number;
  kldMean: number | null;
  top1: number | null;
  gatePassed: boolean | null;
}

export interface ArtifactItem {
  id: string;
  /** Absolute path of the .gguf file or MLX folder. */
  path: string;
  format: 'gguf' | 'mlx';
  target: string;
  strategy: string;
  imatrix: boolean;
  sizeBytes: number;
  bpw: number;
  quality: ArtifactQualitySummary | null;
  /** false when the file or folder is gone. */
  present: boolean;
}

/** A folder with a Llama-Pajamas manifest.json. */
export interface ArtifactFolder {
  folder: string;
  manifestPath: string;
  /** The manifest's model name; null when the manifest could not be read. */
  model: string | null;
  artifacts: ArtifactItem[];
  /** Why the manifest could not be read (schema error, bad JSON), or null. */
  problem: string | null;
}

export interface ModelListing {
  /** null when not asked for. */
  hfCache: { root: string; models: HfCacheModel[]; error: string | null } | null;
  workspace: WorkspaceModel[];
  artifacts: ArtifactFolder[];
  /** True when the search stopped at its limit (entries or depth) somewhere. */
  truncated: boolean;
  elapsedMs: number;
}
