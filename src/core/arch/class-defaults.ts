/**
 * transformers config classes fill omitted fields with class defaults, and real configs rely on
 * it: a LLaVA `text_config` may say only `{"model_type": "llama", "vocab_size": 32064}` (the rest
 * is LlamaConfig's 7B defaults), a Gemma 3 wrapper's text_config omits the head counts. These
 * tables hold the defaults that decide sizes (values from the transformers config classes), so
 * such configs read as transformers reads them. Fields present in config.json always win.
 */
import { type HfConfig, textConfig } from '../hf/config';
import { stringField } from './config-fields';

const LLAMA = {
  vocab_size: 32000,
  hidden_size: 4096,
  intermediate_size: 11008,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  max_position_embeddings: 2048,
};

const CLASS_DEFAULTS: Record<string, HfConfig> = {
  llama: LLAMA,
  mistral: { ...LLAMA, intermediate_size: 14336, num_key_value_heads: 8, max_position_embeddings: 131072, sliding_window: 4096 },
  mixtral: {
    ...LLAMA,
    intermediate_size: 14336,
    num_key_value_heads: 8,
    max_position_embeddings: 131072,
    num_local_experts: 8,
    num_experts_per_tok: 2,
  },
  qwen2: {
    vocab_size: 151936,
    hidden_size: 4096,
    intermediate_size: 22016,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    num_key_value_heads: 32,
    max_position_embeddings: 32768,
  },
  gemma: {
    vocab_size: 256000,
    hidden_size: 3072,
    intermediate_size: 24576,
    num_hidden_layers: 28,
    num_attention_heads: 16,
    num_key_value_heads: 16,
    head_dim: 256,
    max_position_embeddings: 8192,
  },
  gemma2: {
    vocab_size: 256000,
    hidden_size: 2304,
    intermediate_size: 9216,
    num_hidden_layers: 26,
    num_attention_heads: 8,
    num_key_value_heads: 4,
    head_dim: 256,
    max_position_embeddings: 8192,
    sliding_window: 4096,
  },
  gemma3_text: {
    vocab_size: 262208,
    hidden_size: 2304,
    intermediate_size: 9216,
    num_hidden_layers: 26,
    num_attention_heads: 8,
    num_key_value_heads: 4,
    head_dim: 256,
    max_position_embeddings: 131072,
    sliding_window: 4096,
    sliding_window_pattern: 6,
  },
  llama4_text: {
    vocab_size: 202048,
    hidden_size: 5120,
    intermediate_size: 8192,
    intermediate_size_mlp: 16384,
    num_hidden_layers: 48,
    num_attention_heads: 40,
    num_key_value_heads: 8,
    head_dim: 128,
    max_position_embeddings: 131072,
    num_local_experts: 16,
    num_experts_per_tok: 1,
    interleave_moe_layer_step: 1,
    attention_chunk_size: 8192,
  },
  gpt2: { vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12 },
};

export interface LanguageConfig {
  /** The text model's config with class defaults filled in. */
  config: HfConfig;
  modelType: string;
  /** Fields taken from the class defaults because config.json omits them. */
  defaulted: string[];
}

/** The language model's config (nested text config followed), with its class defaults applied. */
export function languageConfig(config: HfConfig): LanguageConfig {
  const text = textConfig(config);
  const modelType = stringField(text, ['model_type']) ?? 'unknown';
  const defaults = CLASS_DEFAULTS[modelType];
  if (!defaults) return { config: text, modelType, defaulted: [] };
  const defaulted = Object.keys(defaults).filter((k) => text[k] === undefined);
  if (defaulted.length === 0) return { config: text, modelType, defaulted };
  const filled: HfConfig = { ...text };
  for (const k of defaulted) filled[k] = defaults[k]!;
  return { config: filled, modelType, defaulted };
}
