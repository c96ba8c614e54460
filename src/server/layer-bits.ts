/**
 * Bits per weight of each decoder layer of an artifact, from its headers only (no tensor data is
 * read): a GGUF file's tensor table, or an MLX folder's safetensors headers with its quantization
 * config (a quantized module's packed weight, scales and biases count against the unpacked weight).
 * The manifest records totals per tensor kind, not per layer, so this is where the manifest
 * editor's bits-per-layer chart comes from. Results are kept per file while its size and mtime stay.
 */
import { stat } from 'node:fs/promises';
import { layerOf } from '../core/arch/model-tensor';
import { asPajamasError } from '../core/errors';
import { readGgufHeader } from '../core/formats/gguf';
import { manifestRelative } from '../core/manifest/io';
import type { Artifact } from '../core/manifest/types';
import { openMlxModel, quantizedWeight } from '../core/mlx/reader';
import type { LayerBits } from '../protocol/manifest-editor';

/** Artifacts whose layer bits are remembered. */
const CACHE_LIMIT = 64;

interface Tally {
  bytes: number;
  params: number;
}

const cache = new Map<string, Omit<LayerBits, 'artifactId'>>();

export async function artifactLayerBits(manifestPath: string, artifact: Artifact): Promise<LayerBits> {
  const file = manifestRelative(manifestPath, artifact.path);
  try {
    const info = await stat(file);
    const key = `${artifact.format}:${file}:${info.size}:${info.mtimeMs}`;
    let bits = cache.get(key);
    if (!bits) {
      const tallies = artifact.format === 'gguf' ? await ggufTallies(file) : await mlxTallies(file);
      bits = toBits(tallies);
      if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
      cache.set(key, bits);
    }
    return { artifactId: artifact.id, ...bits };
  } catch (error) {
    const message = (error as NodeJS.ErrnoException).code === 'ENOENT' ? `${file} is missing` : asPajamasError(error).message;
    return { artifactId: artifact.id, layers: [], outside: null, error: message };
  }
}

/** Tallies per layer; key -1 holds the tensors outside the blocks. */
type Tallies = Map<number, Tally>;

function add(tallies: Tallies, layer: number | null, bytes: number, params: number): void {
  const key = layer ?? -1;
  const t = tallies.get(key) ?? { bytes: 0, params: 0 };
  t.bytes += bytes;
  t.params += params;
  tallies.set(key, t);
}

const product = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

async function ggufTallies(file: string): Promise<Tallies> {
  const header = await readGgufHeader(file);
  const tallies: Tallies = new Map();
  for (const t of header.tensors) add(tallies, layerOf(t.name), t.byteLength, product(t.shape));
  return tallies;
}

/** "model.layers.12.mlp.down_proj.weight" -> 12 (MoE expert stacks included). */
function mlxLayer(name: string): number | null {
  const m = /(?:^|\.)layers\.(\d+)\./.exec(name);
  return m ? Number(m[1]) : null;
}

async function mlxTallies(dir: string): Promise<Tallies> {
  const model = await openMlxModel(dir);
  const tallies: Tallies = new Map();
  // A quantized module's scales and biases count with its weight, whatever order the file has.
  const counted = new Set<string>();
  for (const name of model.weights.tensors.keys()) {
    if (!name.endsWith('.weight')) continue;
    const q = quantizedWeight(model, name.slice(0, -'.weight'.length));
    if (!q) continue;
    for (const part of [q.weight, q.scales, q.biases]) counted.add(part.name);
    add(tallies, mlxLayer(name), q.weight.byteLength + q.scales.byteLength + q.biases.byteLength, product(q.shape));
  }
  for (const t of model.weights.tensors.values()) {
    if (!counted.has(t.name)) add(tallies, mlxLayer(t.name), t.byteLength, product(t.shape));
  }
  return tallies;
}

function toBits(tallies: Tallies): Omit<LayerBits, 'artifactId'> {
  const bpw = (t: Tally | undefined) => (t && t.params > 0 ? (t.bytes * 8) / t.params : null);
  const maxLayer = Math.max(-1, ...tallies.keys());
  const layers = Array.from({ length: maxLayer + 1 }, (_, i) => bpw(tallies.get(i)));
  return { layers, outside: bpw(tallies.get(-1)), error: null };
}
