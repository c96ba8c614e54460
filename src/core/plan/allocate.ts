/**
 * Budgeted bit allocation: every tensor starts at its cheapest allowed type, then the upgrade with
 * the largest expected error reduction per extra byte is applied, again and again, while the total
 * stays within the budget. A tensor's error cost is its gain times the relative error of its type;
 * the bytes an upgrade costs grow with the tensor's size, so small high-gain tensors come first.
 * With errors that shrink geometrically per bit, each tensor's successive upgrades pay less and
 * less, so this greedy order is the classic near-optimal solution.
 */
import { type GgmlTypeName, tensorBytes } from '../formats/ggml-types';

/**
 * Effective precision of each type in bits, for the error model 4^-bits (the relative mean squared
 * error that quantization adds to a tensor's output). K-quants beat the legacy types of the same width thanks to their super-block
 * scales; the numbers order the types, they are not measurements of a particular model.
 */
const EFFECTIVE_BITS: Partial<Record<GgmlTypeName, number>> = {
  // MXFP4: 4-bit E2M1 elements (8 magnitudes, denser near zero) under a power-of-two block scale.
  MXFP4: 3.7,
  Q4_0: 3.9,
  Q4_1: 4.1,
  Q4_K: 4.25,
  Q5_0: 4.9,
  Q5_1: 5.1,
  Q5_K: 5.25,
  Q6_K: 6.25,
  Q8_0: 8,
  BF16: 8,
  F16: 11,
  F32: 24,
};

export function relativeError(type: GgmlTypeName): number {
  const bits = EFFECTIVE_BITS[type];
  if (bits === undefined) throw new Error(`no error model for ${type}`);
  return Math.pow(4, -bits);
}

export interface AllocationItem {
  name: string;
  shape: readonly number[];
  /** Allowed types, cheapest first; the allocation picks one of them. */
  candidates: GgmlTypeName[];
  /** Cost of relative quantization noise in this tensor (see sensitivity.ts), whatever its size. */
  gain: number;
}

export interface Allocation {
  /** Chosen candidate index per tensor name. */
  choice: Map<string, number>;
  totalBytes: number;
}

/** Chooses a candidate for every item so that fixedBytes + sum of sizes <= budgetBytes where possible. */
export function allocateBits(items: readonly AllocationItem[], fixedBytes: number, budgetBytes: number): Allocation {
  const choice = new Map<string, number>();
  let total = fixedBytes;
  for (const item of items) {
    choice.set(item.name, 0);
    total += tensorBytes(item.candidates[0]!, item.shape);
  }

  // Ties go to the tensor listed first, so equal layers are served in order and plans are stable.
  const heap = new MaxHeap<Step>((a, b) => a.score - b.score || b.order - a.order);
  const order = new Map(items.map((item, i) => [item.name, i]));
  const pushNextStep = (item: AllocationItem) => {
    const at = choice.get(item.name)!;
    if (at + 1 >= item.candidates.length) return;
    const from = item.candidates[at]!;
    const to = item.candidates[at + 1]!;
    const extraBytes = tensorBytes(to, item.shape) - tensorBytes(from, item.shape);
    const gain = item.gain * (relativeError(from) - relativeError(to));
    const score = extraBytes > 0 ? gain / extraBytes : Number.POSITIVE_INFINITY;
    heap.push({ item, extraBytes, score, order: order.get(item.name)! });
  };
  items.forEach(pushNextStep);

  for (let step = heap.pop(); step; step = heap.pop()) {
    if (total + step.extraBytes > budgetBytes) continue; // this tensor stops here; cheaper steps elsewhere may still fit
    total += step.extraBytes;
    choice.set(step.item.name, choice.get(step.item.name)! + 1);
    pushNextStep(step.item);
  }
  return { choice, totalBytes: total };
}

interface Step {
  item: AllocationItem;
  extraBytes: number;
  score: number;
  order: number;
}

/** A binary max-heap. */
class MaxHeap<T> {
  private readonly items: T[] = [];
  constructor(private readonly compare: (a: T, b: T) => number) {}

  push(value: T): void {
    const a = this.items;
    a.push(value);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.compare(a[i]!, a[parent]!) <= 0) break;
      [a[i], a[parent]] = [a[parent]!, a[i]!];
      i = parent;
    }
  }

  pop(): T | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < a.length && this.compare(a[l]!, a[best]!) > 0) best = l;
        if (r < a.length && this.compare(a[r]!, a[best]!) > 0) best = r;
        if (best === i) break;
        [a[i], a[best]] = [a[best]!, a[i]!];
        i = best;
      }
    }
    return top;
  }
}
