/**
 * The config.json values the converter needs, read once with clear errors. llama.cpp's converter
 * flattens a multimodal config's text_config over the root; textConfig() does the same.
 */
import {
  CONTEXT_KEYS,
  HEAD_KEYS,
  HIDDEN_KEYS,
  KV_HEAD_KEYS,
  LAYER_KEYS,
  RMS_EPSILON_KEYS,
  checkConfigHyperparameters,
} from '../arch/config-hyperparameters';
import { EXPERT_COUNT_KEYS, EXPERTS_PER_TOKEN_KEYS } from '../arch/moe';
import { FormatError } from '../errors';
import { isJsonObject, textConfig, type HfConfig, type JsonObject } from '../hf/config';

export class Hparams {
  readonly raw: HfConfig;

  constructor(
    config: HfConfig,
    readonly source: string,
  ) {
    this.raw = textConfig(config);
    // The same checks as detection, before any value reaches a GGUF: a count past its limit, a
    // NaN epsilon or a zero context length is a broken config, not something to write down.
    checkConfigHyperparameters(this.raw, source);
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
    return this.int(LAYER_KEYS);
  }

  get hiddenSize(): number {
    return this.int(HIDDEN_KEYS);
  }

  get numHeads(): number {
    return this.int(HEAD_KEYS);
  }

  get numKvHeads(): number {
    return this.num(KV_HEAD_KEYS) ?? this.numHeads;
  }

  /** The trained context length, when the config gives one. */
  get contextLength(): number | undefined {
    return this.num(CONTEXT_KEYS);
  }

  get normEpsilon(): number | undefined {
    return this.num(RMS_EPSILON_KEYS);
  }

  get expertCount(): number | undefined {
    return this.num(EXPERT_COUNT_KEYS);
  }

  get expertsPerToken(): number | undefined {
    return this.num(EXPERTS_PER_TOKEN_KEYS);
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
