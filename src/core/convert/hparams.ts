/**
 * The config.json values the converter needs, read once with clear errors. llama.cpp's converter
 * flattens a multimodal config's text_config over the root; textConfig() does the same.
 */
import { FormatError } from '../errors';
import { isJsonObject, textConfig, type HfConfig, type JsonObject } from '../hf/config';

export class Hparams {
  readonly raw: HfConfig;

  constructor(
    config: HfConfig,
    readonly source: string,
  ) {
    this.raw = textConfig(config);
  }

  /** A view with `defaults` filled in where the config leaves a key out. */
  withDefaults(defaults: Readonly<Record<string, number>>): Hparams {
    const copy = Object.create(Hparams.prototype) as Hparams;
    Object.assign(copy, this, { raw: { ...defaults, ...this.raw } });
    return copy;
  }

  get modelType(): string {
    return typeof this.raw.model_type === 'string' ? this.raw.model_type : '';
  }

  get architectures(): string[] {
    const a = this.raw.architectures;
    return Array.isArray(a) ? a.filter((x): x is string => typeof x === 'string') : [];
  }

  /** First of `keys` that is a finite number, or undefined. */
  num(keys: string | readonly string[]): number | undefined {
    for (const key of typeof keys === 'string' ? [keys] : keys) {
      const v = this.raw[key];
      if (typeof v === 'number' && Number.isFinite(v)) return v;
    }
    return undefined;
  }

  /** Like num() for a positive integer the conversion cannot do without. */
  int(keys: string | readonly string[]): number {
    const v = this.num(keys);
    const names = typeof keys === 'string' ? keys : keys.join(' / ');
    if (v === undefined || !Number.isInteger(v) || v <= 0) {
      throw new FormatError(`config.json has no usable ${names} (a positive integer is required)`, { path: this.source });
    }
    return v;
  }

  bool(key: string): boolean | undefined {
    const v = this.raw[key];
    return typeof v === 'boolean' ? v : undefined;
  }

  obj(key: string): JsonObject | undefined {
    const v = this.raw[key];
    return isJsonObject(v) ? v : undefined;
  }

  get numLayers(): number {
    return this.int(['num_hidden_layers', 'n_layers', 'n_layer', 'num_layers']);
  }

  get hiddenSize(): number {
    return this.int(['hidden_size', 'n_embd', 'dim']);
  }

  get numHeads(): number {
    return this.int(['num_attention_heads', 'n_head', 'n_heads']);
  }

  get numKvHeads(): number {
    return this.num(['num_key_value_heads', 'n_kv_heads']) ?? this.numHeads;
  }

  get headDim(): number {
    return this.num('head_dim') ?? this.hiddenSize / this.numHeads;
  }

  get tiedEmbeddings(): boolean {
    return this.bool('tie_word_embeddings') ?? false;
  }

  /**
   * The rope parameters: `rope_parameters` (transformers 5) or `rope_scaling`, with the theta and
   * type mirrored in; per-layer-type dicts ("full_attention") are resolved to the full-attention one.
   */
  get rope(): RopeParams {
    const declared = this.obj('rope_parameters') ?? this.obj('rope_scaling') ?? {};
    const full = isJsonObject(declared.full_attention) ? declared.full_attention : declared;
    const sliding = isJsonObject(declared.sliding_attention) ? declared.sliding_attention : undefined;
    const type = full.rope_type ?? full.type;
    const theta = typeof full.rope_theta === 'number' ? full.rope_theta : this.num(['rope_theta', 'rotary_emb_base']);
    const localTheta =
      typeof sliding?.rope_theta === 'number'
        ? sliding.rope_theta
        : this.num(['rope_local_base_freq', 'local_rope_theta', 'swa_rope_theta']);
    return { params: full, type: typeof type === 'string' ? type : undefined, theta, localTheta };
  }
}

export interface RopeParams {
  params: JsonObject;
  type: string | undefined;
  theta: number | undefined;
  /** rope theta of sliding-window layers (Gemma 3), when different. */
  localTheta: number | undefined;
}
