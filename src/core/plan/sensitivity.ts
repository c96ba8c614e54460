/**
 * How much quantization noise in each tensor costs. Quantizing a weight matrix adds noise whose size
 * relative to the tensor's output is set by the type alone, whatever the tensor's size; what that
 * relative noise does to the model's output distribution depends on the tensor's role: its gain.
 * The pajamas strategy spends bits where gain x error saved per extra byte is highest, so a small
 * tensor with a high gain (a GQA key/value projection, a latent MLA projection) gets bits first and
 * a huge one with a modest gain (a stack of routed experts) pays for them.
 *
 * The prior gains below come from the roles of the tensors (softmax inputs are damped, values and
 * down projections pass straight into the residual stream, the embedding and the output head are
 * single choke points that every layer depends on); their sizes were set by probing trained models'
 * per-kind sensitivity on calibration text. Measured gains for the model at hand replace them when
 * given (`PlanOptions.gains`).
 */
import type { ArchitectureInfo } from '../arch/types';
import type { TensorKind } from './types';

export interface TensorGain {
  gain: number;
  /** Short phrases explaining the gain, in the order applied. */
  because: string[];
}

/** Measured gains per kind (KLD impact of the same relative noise), e.g. from calibration probes. */
export type KindGains = Partial<Record<TensorKind, number>>;

/** Prior gain per tensor of each kind, relative to one layer's query projection, with the reason. */
const KIND_GAIN: Partial<Record<TensorKind, readonly [number, string]>> = {
  attn_q: [1, 'queries only shift attention scores, which the softmax damps'],
  attn_k: [1.5, 'keys only shift attention scores, which the softmax damps'],
  attn_v: [4.5, 'values pass linearly into the attention output'],
  attn_qkv: [3, 'fused query/key/value projection'],
  attn_output: [3.5, 'writes the attention result into the residual stream'],
  attn_q_a: [2, 'MLA latent query projection shared by every head'],
  attn_q_b: [1, 'MLA per-head query projection'],
  attn_kv_a: [5, "MLA latent key/value projection: every head's keys and values come from it"],
  attn_kv_b: [4, 'MLA key/value up-projection'],
  attn_k_b: [1.5, 'MLA key up-projection'],
  attn_v_b: [4.5, 'MLA value up-projection'],
  ffn_gate: [2.2, 'gate of the feed-forward network'],
  ffn_up: [1.8, 'up projection of the feed-forward network'],
  ffn_down: [3.3, 'down projection writes straight into the residual stream'],
  ffn_gate_exps: [2.2, "routed experts' gates"],
  ffn_up_exps: [1.8, "routed experts' up projections"],
  ffn_down_exps: [3.3, "routed experts' down projections write into the residual stream"],
  ffn_gate_shexp: [2.2, 'shared expert gate projection, used by every token'],
  ffn_up_shexp: [1.8, 'shared expert up projection, used by every token'],
  ffn_down_shexp: [3.3, 'shared expert down projection, used by every token'],
  ssm: [3, 'state-space projection: its errors are carried forward through the sequence'],
  linear_attn: [3, 'linear-attention projection: its errors are carried forward through the sequence'],
  other: [1, 'other weight'],
};

/**
 * The embedding feeds every layer and the output head reads every layer's work: their gain grows
 * with depth (per layer of the model, relative to one query projection).
 */
const TOKEN_EMBD_GAIN_PER_LAYER = 8;
const OUTPUT_GAIN_PER_LAYER = 5;
const EDGE_LAYER_FACTOR = 1.5;
const GLOBAL_ATTENTION_FACTOR = 2;

/** Where a tensor sits: its kind, its layer, and whether it writes the logits (output.weight or a tied embedding). */
export interface TensorRole {
  kind: TensorKind;
  layer: number | null;
  outputHead: boolean;
}

export function tensorGain(arch: ArchitectureInfo, role: TensorRole, measured: KindGains = {}): TensorGain {
  const { kind, layer } = role;
  const g: TensorGain = { gain: 1, because: [] };
  const measuredGain = measured[kind];
  if (measuredGain !== undefined) {
    g.gain = Math.max(measuredGain, Number.MIN_VALUE);
    g.because.push(`measured gain ${formatGain(measuredGain)} on calibration text`);
  } else if (kind === 'token_embd' || kind === 'output') {
    g.gain = edgeGain(kind, role.outputHead, arch.numLayers);
    const what =
      kind === 'output'
        ? 'the output head writes the logits'
        : role.outputHead
          ? 'tied: the output head and the embedding at once, their gains added'
          : 'the embedding feeds every layer';
    g.because.push(`${what} (gain ${formatGain(g.gain)})`);
  } else {
    const [gain, why] = KIND_GAIN[kind] ?? KIND_GAIN.other!;
    g.gain = gain;
    g.because.push(`${why} (gain ${formatGain(gain)})`);
  }
  if (layer !== null) {
    const type = arch.layerTypes[layer];
    if (kind.startsWith('attn_') && type === 'full_attention' && arch.attentionPattern !== 'uniform') {
      const why =
        arch.attentionPattern === 'hybrid'
          ? 'one of the few softmax-attention layers of a hybrid'
          : 'global-attention layer among sliding-window layers';
      g.gain *= GLOBAL_ATTENTION_FACTOR;
      g.because.push(`${why} (x${GLOBAL_ATTENTION_FACTOR})`);
    }
    if (isEdgeLayer(layer, arch.numLayers)) {
      g.gain *= EDGE_LAYER_FACTOR;
      g.because.push(`first or last eighth of the layers (x${EDGE_LAYER_FACTOR})`);
    }
  }
  return g;
}

/**
 * The embedding's and the output head's gains grow with depth; a tied embedding plays both roles
 * (its errors enter at the first layer and again in the logits), so it gets both gains.
 */
function edgeGain(kind: 'token_embd' | 'output', outputHead: boolean, numLayers: number): number {
  if (kind === 'output') return OUTPUT_GAIN_PER_LAYER * numLayers;
  return (TOKEN_EMBD_GAIN_PER_LAYER + (outputHead ? OUTPUT_GAIN_PER_LAYER : 0)) * numLayers;
}

/** The first and last eighth of the layers (at least the first and the last one). */
export function isEdgeLayer(layer: number, numLayers: number): boolean {
  const eighth = Math.max(1, Math.trunc(numLayers / 8));
  return layer < eighth || layer >= numLayers - eighth;
}

/** A phrase on how the architecture makes a tensor cheap or expensive to give bits to. */
export function sizeNote(arch: ArchitectureInfo, kind: TensorKind): string | null {
  if ((kind === 'attn_k' || kind === 'attn_v') && arch.gqaRatio && arch.gqaRatio > 1) {
    const label = arch.attention === 'mqa' ? 'MQA' : `GQA ${arch.gqaRatio}:1`;
    return `${label} makes it ${arch.gqaRatio}x smaller than the query projection, so its bits are cheap`;
  }
  if ((kind === 'ffn_gate_exps' || kind === 'ffn_up_exps' || kind === 'ffn_down_exps') && arch.moe) {
    return `${arch.moe.numExperts} stacked experts (a token uses ${arch.moe.numExpertsPerToken}), so its bits are expensive`;
  }
  return null;
}

function formatGain(x: number): string {
  return Number.isInteger(x) ? String(x) : x < 0.01 ? x.toExponential(2) : x.toFixed(2).replace(/\.?0+$/, '');
}
