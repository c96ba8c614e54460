/** A small builder for implied tensor lists: GGUF names, GGUF-order shapes. */
import type { ModelTensor } from './model-tensor';
import type { NormKind } from './model-types';

export class TensorList {
  readonly tensors: ModelTensor[] = [];

  add(name: string, shape: number[], options: { notParameter?: boolean; sourceDtype?: string } = {}): void {
    if (shape.some((d) => !Number.isInteger(d) || d <= 0)) return; // a zero-width part does not exist
    const t: ModelTensor = { name, shape, hfName: null };
    if (options.notParameter) t.notParameter = true;
    if (options.sourceDtype) t.sourceDtype = options.sourceDtype;
    this.tensors.push(t);
  }

  /** `name.weight` [in, out] and, with `bias`, `name.bias` [out]. */
  linear(name: string, inDim: number, outDim: number, bias = false): void {
    this.add(`${name}.weight`, [inDim, outDim]);
    if (bias) this.add(`${name}.bias`, [outDim]);
  }

  /** A norm's weight (and bias for LayerNorm); nothing for a norm without parameters. */
  norm(name: string, width: number, kind: NormKind): void {
    if (kind === 'none') return;
    this.add(`${name}.weight`, [width]);
    if (kind === 'layer') this.add(`${name}.bias`, [width]);
  }
}

export const blk = (layer: number, name: string): string => `blk.${layer}.${name}`;
