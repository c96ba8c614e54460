/**
 * The quantization plan: for every tensor of a model, its GGUF type and MLX bits, each with a
 * reason, plus totals compared with llama.cpp's stock recipe. A plan is a prediction that the
 * quantized file must match exactly (fallbacks included).
 */
import type { GgmlTypeName } from '../formats/ggml-types';

/** llama.cpp targets planned for; MXFP4_MOE is llama.cpp's gpt-oss-style recipe (MXFP4 experts, Q8_0 elsewhere). */
export const PLAN_TARGETS = ['Q4_K_M', 'Q5_K_M', 'Q6_K', 'Q8_0', 'MXFP4_MOE'] as const;
export type PlanTarget = (typeof PLAN_TARGETS)[number];

export const PLAN_STRATEGIES = ['pajamas', 'naive'] as const;
export type PlanStrategy = (typeof PLAN_STRATEGIES)[number];

export const MLX_BITS = [2, 3, 4, 5, 6, 8] as const;
export const MLX_GROUP_SIZES = [32, 64, 128] as const;

export interface MlxQuant {
  bits: number;
  groupSize: number;
  /** MLX quantization mode: affine (the default, with scales and biases) or mxfp4 (E2M1 codes, E8M0 scales). */
  mode?: 'affine' | 'mxfp4';
}

/** What a tensor does in the network; the plan's rules are written per kind. */
export type TensorKind =
  | 'token_embd'
  | 'output'
  | 'attn_q'
  | 'attn_k'
  | 'attn_v'
  | 'attn_qkv'
  | 'attn_output'
  | 'attn_q_a'
  | 'attn_q_b'
  | 'attn_kv_a'
  | 'attn_kv_b'
  | 'attn_k_b'
  | 'attn_v_b'
  | 'ffn_gate'
  | 'ffn_up'
  | 'ffn_down'
  | 'ffn_gate_exps'
  | 'ffn_up_exps'
  | 'ffn_down_exps'
  | 'ffn_gate_shexp'
  | 'ffn_up_shexp'
  | 'ffn_down_shexp'
  | 'router'
  | 'shexp_gate'
  | 'ssm'
  | 'linear_attn'
  | 'norm'
  | 'other';

export interface PlannedTensor {
  /** GGUF tensor name. */
  name: string;
  /** Source tensor name(s) in the HF checkpoint; a list for stacked experts; null when unknown. */
  hfName: string | string[] | null;
  /** GGUF order: ne[0] (row length) first. */
  shape: number[];
  kind: TensorKind;
  /** Decoder layer index, or null for tensors outside the blocks. */
  layer: number | null;
  /** Type of the tensor in the F16/BF16/F32 intermediate GGUF. */
  sourceType: GgmlTypeName;
  /** The planned type: exactly what the quantized file will hold. */
  ggufType: GgmlTypeName;
  /** What llama.cpp's stock recipe for the same target gives this tensor. */
  stockType: GgmlTypeName;
  /** Set when the type wanted by the rules does not fit the row length and a fallback was chosen. */
  fallback: { wanted: GgmlTypeName; reason: string } | null;
  /** MLX quantization, or null when the tensor stays unquantized in MLX. */
  mlx: MlxQuant | null;
  /** Why this tensor gets this type (one line). */
  reason: string;
  /** Bytes of this tensor in the planned GGUF. */
  bytes: number;
  /** Bytes under the stock recipe. */
  stockBytes: number;
}

export interface PlanTotals {
  parameters: number;
  sizeBytes: number;
  bpw: number;
  stockSizeBytes: number;
  stockBpw: number;
  /** MLX weights' size (quantized tensors with scales and biases, others in the source dtype). */
  mlxSizeBytes: number;
  mlxBpw: number;
}

export interface QuantPlan {
  strategy: PlanStrategy;
  target: PlanTarget;
  /** The default MLX quantization of the body (top-level bits/group_size in the MLX config). */
  mlxDefault: MlxQuant;
  tensors: PlannedTensor[];
  totals: PlanTotals;
  /** Notes on decisions that apply to the whole model (one line each). */
  notes: string[];
}

export interface PlanOptions {
  target: PlanTarget;
  strategy: PlanStrategy;
  /** MLX body bits (pajamas default 4; naive: the one width used everywhere). */
  mlxBits?: number;
  mlxGroupSize?: number;
  /**
   * True when the tensors come from a GGUF file (their sourceDtype is the ggml type to quantize
   * from); otherwise the plan assumes the intermediate GGUF the converter writes.
   */
  sourceIsGguf?: boolean;
  /** Output type of the intermediate GGUF (default F16). */
  intermediateType?: 'F16' | 'BF16' | 'F32';
  /** Measured gains per tensor kind (calibration probes); the architecture's priors fill the rest. */
  gains?: Partial<Record<TensorKind, number>>;
}
