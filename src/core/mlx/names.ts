/**
 * Weight names as mlx_lm's model classes expect them ("sanitize" in mlx_lm/models/*.py), from HF
 * safetensors names: dense Llama/Mistral/Qwen keep their names; MoE experts are stacked along a
 * new leading axis into one SwitchLinear per projection (Mixtral: `block_sparse_moe.experts.E.w1/
 * w2/w3` -> `block_sparse_moe.switch_mlp.gate_proj/down_proj/up_proj`; Qwen2/3-MoE:
 * `mlp.experts.E.{gate,up,down}_proj` -> `mlp.switch_mlp.*`). The inverse (one stacked MLX
 * tensor -> its per-expert HF names) is here too, for dequantize.ts.
 */
import { FormatError, UnsupportedError } from '../errors';

/** model_type values whose mlx_lm model this writer targets (checked against mlx_lm's sanitize). */
export const MLX_SUPPORTED_MODEL_TYPES = ['llama', 'mistral', 'qwen2', 'qwen3', 'mixtral', 'qwen2_moe', 'qwen3_moe', 'gpt_oss'] as const;

/** HF per-expert projection names -> the SwitchGLU projection mlx_lm names them by. */
const EXPERT_PROJECTIONS: Readonly<Record<string, string>> = {
  w1: 'gate_proj',
  w2: 'down_proj',
  w3: 'up_proj',
  gate_proj: 'gate_proj',
  up_proj: 'up_proj',
  down_proj: 'down_proj',
};

/** `<prefix>.experts.<E>.<proj>.<weight|bias>` */
const EXPERT_NAME = /^(.+)\.experts\.(\d+)\.([A-Za-z0-9_]+)\.(weight|bias)$/;
/** Buffers some checkpoints carry that mlx_lm drops. */
const DROPPED_NAME = /(^|\.)rotary_emb\.inv_freq$/;

export interface TensorShapeInfo {
  readonly shape: readonly number[];
  readonly dtype: string;
}

/** One tensor of the MLX model before quantization: its name and where its values come from. */
export interface MlxSourceTensor {
  /** Name in the MLX checkpoint (e.g. model.layers.0.block_sparse_moe.switch_mlp.gate_proj.weight). */
  name: string;
  /** HF tensor names whose values it holds, in order; several when experts are stacked on axis 0. */
  sources: string[];
  /** HF (row-major) shape: the source shape, with the expert count in front when stacked. */
  shape: number[];
  /** Source dtype (all sources share it). */
  dtype: string;
}

export function isMlxSupportedModelType(modelType: string): boolean {
  return (MLX_SUPPORTED_MODEL_TYPES as readonly string[]).includes(modelType);
}

/** Throws UnsupportedError (naming what is supported) unless mlx_lm's naming for this model type is known here. */
export function checkMlxModelType(modelType: string | undefined, where: string): void {
  if (modelType && isMlxSupportedModelType(modelType)) return;
  throw new UnsupportedError(
    `${where}: MLX output is not supported for model_type "${modelType ?? '(none)'}"; supported: ` +
      `${MLX_SUPPORTED_MODEL_TYPES.join(', ')}. Use GGUF output for this model.`,
    { modelType, supported: [...MLX_SUPPORTED_MODEL_TYPES] },
  );
}

/**
 * The MLX checkpoint's tensors for an HF checkpoint, sorted by name: experts stacked, rotary
 * buffers dropped, `lm_head.weight` dropped when the embeddings are tied.
 */
export function mlxSourceTensors(
  tensors: ReadonlyMap<string, TensorShapeInfo>,
  opts: { tiedEmbeddings: boolean; where: string },
): MlxSourceTensor[] {
  const out: MlxSourceTensor[] = [];
  const stacks = new Map<string, { experts: Map<number, string>; suffix: string }>();
  for (const [name, t] of tensors) {
    if (DROPPED_NAME.test(name)) continue;
    if (opts.tiedEmbeddings && name === 'lm_head.weight') continue;
    const m = EXPERT_NAME.exec(name);
    const projection = m ? EXPERT_PROJECTIONS[m[3]!] : undefined;
    if (!m || !projection) {
      out.push({ name, sources: [name], shape: [...t.shape], dtype: t.dtype });
      continue;
    }
    const target = `${m[1]}.switch_mlp.${projection}.${m[4]}`;
    const stack = stacks.get(target) ?? { experts: new Map<number, string>(), suffix: m[4]! };
    stack.experts.set(Number(m[2]), name);
    stacks.set(target, stack);
  }
  for (const [target, stack] of stacks) out.push(stackExperts(target, stack.experts, tensors, opts.where));
  return out.sort((a, b) => compareNames(a.name, b.name));
}

function stackExperts(
  target: string,
  experts: Map<number, string>,
  tensors: ReadonlyMap<string, TensorShapeInfo>,
  where: string,
): MlxSourceTensor {
  const count = experts.size;
  const sources: string[] = [];
  for (let e = 0; e < count; e++) {
    const name = experts.get(e);
    if (name === undefined) {
      throw new FormatError(
        `experts for ${target} are not numbered 0..${count - 1} (expert ${e} is missing); the checkpoint is incomplete`,
        { path: where, tensor: target },
      );
    }
    sources.push(name);
  }
  const first = tensors.get(sources[0]!)!;
  for (const name of sources) {
    const t = tensors.get(name)!;
    if (t.dtype !== first.dtype || t.shape.join('x') !== first.shape.join('x')) {
      throw new FormatError(
        `expert tensor ${name} is ${t.dtype} [${t.shape.join(', ')}], but ${sources[0]} is ${first.dtype} [${first.shape.join(', ')}]; ` +
          `experts must match to be stacked`,
        {
          path: where,
          tensor: name,
        },
      );
    }
  }
  return { name: target, sources, shape: [count, ...first.shape], dtype: first.dtype };
}

/** Code-unit order, as Python's sorted() and the safetensors header order. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The HF names of the slices of a stacked MLX tensor, for writing the model back in HF layout:
 * `switch_mlp.gate_proj.weight` of a Mixtral -> `experts.E.w1.weight`, of a Qwen MoE ->
 * `experts.E.gate_proj.weight`. Returns null for a tensor that is not stacked.
 */
export function hfExpertNames(mlxName: string, expertCount: number, modelType: string): string[] | null {
  const m = /^(.+)\.switch_mlp\.(gate_proj|up_proj|down_proj)\.(weight|bias)$/.exec(mlxName);
  if (!m) return null;
  const mixtralNames: Record<string, string> = { gate_proj: 'w1', down_proj: 'w2', up_proj: 'w3' };
  const projection = modelType === 'mixtral' ? mixtralNames[m[2]!]! : m[2]!;
  return Array.from({ length: expertCount }, (_, e) => `${m[1]}.experts.${e}.${projection}.${m[3]}`);
}
