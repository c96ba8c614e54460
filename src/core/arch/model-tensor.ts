/**
 * One tensor of a model as the planner sees it: named as llama.cpp names it in GGUF, with its
 * shape in GGUF order (ne[0] = row length first, the reverse of the PyTorch/safetensors shape).
 * Expert tensors are stacked: `blk.N.ffn_up_exps.weight` is [hidden, expert_ffn, n_expert].
 */
export interface ModelTensor {
  /** GGUF tensor name, e.g. `blk.3.attn_q.weight`. */
  name: string;
  /** GGUF order. */
  shape: number[];
  /** The Hugging Face tensor(s) it comes from (a list for stacked experts), or null when not known. */
  hfName: string | string[] | null;
  /** Source dtype (safetensors dtype or GGML type name) when known. */
  sourceDtype?: string;
  /**
   * Not a trained parameter: a table the converter generates (rope frequency factors) or a
   * buffer (Gemma 4's layer scalar). Such tensors are written but left out of parameter counts.
   */
  notParameter?: boolean;
}

/** Matches the stacked routed-expert tensors (weights and biases), not shared experts. */
export const ROUTED_EXPERT_TENSOR = /^blk\.\d+\.ffn_(gate|up|down|gate_up)_exps\.(weight|bias)$/;

/** The decoder layer a GGUF tensor name belongs to, or null for global tensors. */
export function layerOf(name: string): number | null {
  const m = /^blk\.(\d+)\./.exec(name);
  return m ? Number(m[1]) : null;
}
