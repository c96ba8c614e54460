/**
 * From safetensors headers to GGUF tensor recipes: every source tensor is named as llama.cpp names
 * it, routed experts are gathered into one stacked tensor per layer and projection, shapes are
 * checked against config.json, and the transforms and output types are chosen. Reads no tensor
 * data, so the plan can call it on a model of any size.
 */
import type { ModelTensor } from '../arch/model-tensor';
import type { ArchitectureInfo } from '../arch/types';
import { FormatError, UnsupportedError } from '../errors';
import type { HfConfig } from '../hf/config';
import type { SafetensorsModel, SafetensorsTensor } from '../formats/safetensors';
import { archSpecFor, globalTensorBase, type ArchSpec } from './arch-specs';
import { llama3RopeFreqs, phi3RopeFactors, type GeneratedTensor } from './extra-tensors';
import { refuseFp8 } from './fp8';
import { Hparams } from './hparams';
import { makeRecipe, type OutType, type SourceSegment, type TensorRecipe } from './recipe';
import { checkShape } from './shape-check';

/** Source tensors that are never model weights llama.cpp uses. */
const IGNORED_SUFFIXES = ['.rotary_emb.inv_freq', '.attention.masked_bias', '.attention.bias'];
/** Multimodal towers and projectors (llama.cpp writes those to a separate mmproj file). */
const MULTIMODAL = /(^|\.)(vision_tower|vision_model|visual|audio_tower|multi_modal_projector|mm_projector|vision|audio)\.|patch_embed/;

interface Mapped {
  base: string;
  suffix: string;
  layer: number | null;
  tensor: SafetensorsTensor;
}

interface ExpertPart {
  expert: number;
  tensor: SafetensorsTensor;
}

interface Plan {
  plain: Mapped[];
  experts: Map<string, { base: string; suffix: string; layer: number; parts: ExpertPart[] }>;
  fused: { bases: string | readonly [string, string]; layer: number; tensor: SafetensorsTensor }[];
  /** Tensors the architecture's packed-expert code gathers, per layer, by module path. */
  packed: Map<number, Map<string, SafetensorsTensor>>;
  dropped: string[];
  /** Source tensors with no GGUF name. */
  unmapped: string[];
}

/** Removes the wrappers multimodal checkpoints put around the language model's names. */
function normaliseName(name: string): string {
  return name.includes('language_model.') ? name.replaceAll('language_model.', '') : name;
}

function classify(spec: ArchSpec, model: SafetensorsModel): Plan {
  const plan: Plan = { plain: [], experts: new Map(), fused: [], packed: new Map(), dropped: [], unmapped: [] };
  for (const t of model.tensors.values()) {
    const name = normaliseName(t.name);
    if (IGNORED_SUFFIXES.some((s) => name.endsWith(s)) || MULTIMODAL.test(name) || spec.dropTensors?.includes(name)) {
      plan.dropped.push(t.name);
      continue;
    }
    if (!mapOne(spec, name, t, plan)) plan.unmapped.push(t.name);
  }
  return plan;
}

/**
 * Tensors with no GGUF name: parts this converter does not know (unsupported), unless tensors the
 * model needs are missing at the same time, which is what a damaged name looks like (bad input).
 */
function unmappedError(spec: ArchSpec, unmapped: readonly string[], missing: readonly string[], source: string): Error {
  const list = (names: readonly string[]) => names.slice(0, 8).join(', ') + (names.length > 8 ? ` and ${names.length - 8} more` : '');
  if (missing.length) {
    return new FormatError(
      `${unmapped.length} tensor name(s) are not ${spec.ggufArch} names (${list(unmapped)}) while ${missing.length} ` +
        `tensor(s) the model needs are missing (${list(missing)}): the tensor names are damaged, or the weights belong to another model`,
      { path: source },
    );
  }
  return new UnsupportedError(
    `${unmapped.length} tensor(s) have no GGUF name for llama.cpp's ${spec.ggufArch} architecture: ${list(unmapped)}. ` +
      'The checkpoint has parts this converter does not know; it cannot be converted faithfully.',
    { tensors: [...unmapped] },
  );
}

function mapOne(spec: ArchSpec, name: string, t: SafetensorsTensor, plan: Plan): boolean {
  const g = /^(.+)\.(weight|bias)$/.exec(name);
  const globalBase = g ? globalTensorBase(g[1]!) : undefined;
  if (g && globalBase) {
    plan.plain.push({ base: globalBase, suffix: g[2]!, layer: null, tensor: t });
    return true;
  }
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(name);
  if (!m) return false;
  const layer = Number(m[1]);
  const rest = m[2]!;
  if (spec.experts?.packed?.claims(rest)) {
    let parts = plan.packed.get(layer);
    if (!parts) plan.packed.set(layer, (parts = new Map()));
    parts.set(rest, t);
    return true;
  }
  const bare = spec.layer[rest];
  if (bare) {
    plan.plain.push({ base: bare, suffix: 'weight', layer, tensor: t });
    return true;
  }
  const fusedModule = rest.replace(/\.weight$/, '');
  const fused = spec.experts?.fused?.[fusedModule];
  if (fused && t.shape.length === 3) {
    plan.fused.push({ bases: fused, layer, tensor: t });
    return true;
  }
  const ws = /^(.+)\.(weight|bias)$/.exec(rest);
  if (!ws) return false;
  const [module, suffix] = [ws[1]!, ws[2]!];
  const ex = /^(.+)\.experts\.(\d+)\.([A-Za-z0-9_]+)$/.exec(module);
  if (ex && spec.experts) {
    const base = spec.experts.perExpert[`${ex[1]}.${ex[3]}`];
    if (!base) return false;
    const key = `${layer}/${base}/${suffix}`;
    let group = plan.experts.get(key);
    if (!group) plan.experts.set(key, (group = { base, suffix, layer, parts: [] }));
    group.parts.push({ expert: Number(ex[2]), tensor: t });
    return true;
  }
  const base = spec.layer[module];
  if (!base) return false;
  plan.plain.push({ base, suffix, layer, tensor: t });
  return true;
}

function ggufName(base: string, layer: number | null, suffix: string): string {
  return `${layer === null ? '' : `blk.${layer}.`}${base}.${suffix}`;
}

function whole(t: SafetensorsTensor): SourceSegment {
  const rowLength = t.shape.length > 1 ? t.shape[t.shape.length - 1]! : 1;
  const elements = t.shape.reduce((a, b) => a * b, 1);
  return { tensor: t, firstRow: 0, rows: elements / rowLength, rowLength };
}

function reversed(shape: readonly number[]): number[] {
  return [...shape].reverse();
}

function plainRecipe(h: Hparams, spec: ArchSpec, m: Mapped, out: OutType): TensorRecipe {
  const t = m.tensor;
  checkShape(h, spec, m.base, m.suffix, t.name, t.shape);
  const r = makeRecipe(ggufName(m.base, m.layer, m.suffix), reversed(t.shape), out, t.name, t.dtype, [whole(t)]);
  if (spec.ropePermute && (m.base === 'attn_q' || m.base === 'attn_k')) {
    r.transform.ropeHeads = m.base === 'attn_q' ? h.numHeads : h.numKvHeads;
  }
  if (spec.normAdd !== undefined && normaliseName(t.name).endsWith('norm.weight')) r.transform.add = spec.normAdd;
  return r;
}

function expertRecipe(
  h: Hparams,
  spec: ArchSpec,
  g: { base: string; suffix: string; layer: number; parts: ExpertPart[] },
  out: OutType,
): TensorRecipe {
  const n = h.int(['num_local_experts', 'num_experts']);
  const parts = [...g.parts].sort((a, b) => a.expert - b.expert);
  const name = ggufName(g.base, g.layer, g.suffix);
  const present = new Set(parts.map((p) => p.expert));
  const missing = [...Array(n).keys()].filter((e) => !present.has(e));
  if (parts.length !== n || missing.length) {
    throw new FormatError(
      `layer ${g.layer} ${g.base}: config.json says ${n} experts but the checkpoint has ${parts.length}` +
        (missing.length ? ` (expert ${missing.slice(0, 5).join(', ')} missing)` : ''),
      { path: h.source, tensor: name },
    );
  }
  const first = parts[0]!.tensor;
  for (const p of parts) {
    checkShape(h, spec, g.base, g.suffix, p.tensor.name, p.tensor.shape);
    if (p.tensor.dtype !== first.dtype || p.tensor.shape.join() !== first.shape.join()) {
      throw new FormatError(`expert tensors of one layer differ in shape or dtype (${first.name} vs ${p.tensor.name})`, {
        tensor: p.tensor.name,
      });
    }
  }
  const shape = [...reversed(first.shape), n];
  return makeRecipe(
    name,
    shape,
    out,
    parts.map((p) => p.tensor.name),
    first.dtype,
    parts.map((p) => whole(p.tensor)),
  );
}

/** A stacked [experts, rows, cols] tensor; gate_up is split into its gate and up row halves. */
function fusedRecipes(h: Hparams, spec: ArchSpec, f: Plan['fused'][number], out: OutType): TensorRecipe[] {
  const t = f.tensor;
  const [experts, rows, cols] = t.shape as [number, number, number];
  const n = h.int(['num_local_experts', 'num_experts']);
  if (experts !== n)
    throw new FormatError(`config.json says ${n} experts but ${t.name} stacks ${experts}`, { path: h.source, tensor: t.name });
  if (typeof f.bases === 'string') {
    checkShape(h, spec, f.bases, 'weight', t.name, [rows, cols]);
    return [
      makeRecipe(ggufName(f.bases, f.layer, 'weight'), [cols, rows, experts], out, t.name, t.dtype, [
        { tensor: t, firstRow: 0, rows: experts * rows, rowLength: cols },
      ]),
    ];
  }
  const half = rows / 2;
  return f.bases.map((base, i) => {
    checkShape(h, spec, base, 'weight', t.name, [half, cols]);
    const segments = [...Array(experts).keys()].map((e) => ({ tensor: t, firstRow: e * rows + i * half, rows: half, rowLength: cols }));
    return makeRecipe(ggufName(base, f.layer, 'weight'), [cols, half, experts], out, t.name, t.dtype, segments);
  });
}

function extraTensors(spec: ArchSpec, h: Hparams): GeneratedTensor[] {
  if (spec.ggufArch === 'llama') {
    const freqs = llama3RopeFreqs(h);
    return freqs ? [freqs] : [];
  }
  if (spec.ggufArch === 'phi3') return phi3RopeFactors(h);
  return [];
}

/** GGUF names of the tensors a model of this config needs that `recipes` lacks. */
function missingTensors(h: Hparams, spec: ArchSpec, recipes: TensorRecipe[]): string[] {
  const names = new Set(recipes.map((r) => r.name));
  const need = ['token_embd.weight', 'output_norm.weight'];
  const required = spec.requiredLayer(h);
  for (let i = 0; i < h.numLayers; i++) {
    for (const base of required) need.push(base.endsWith('.bias') ? `blk.${i}.${base}` : `blk.${i}.${base}.weight`);
  }
  return need.filter((n) => !names.has(n));
}

function checkCompleteness(h: Hparams, spec: ArchSpec, recipes: TensorRecipe[]): void {
  const names = new Set(recipes.map((r) => r.name));
  const missing = missingTensors(h, spec, recipes);
  if (missing.length) {
    throw new FormatError(
      `the checkpoint lacks ${missing.length} tensor(s) that a ${h.numLayers}-layer ${spec.ggufArch} model needs (config.json), e.g. ` +
        `${missing.slice(0, 5).join(', ')}; ` +
        'a shard may be missing or the config does not match the weights',
      { path: h.source },
    );
  }
  const extraLayer = recipes.find((r) => /^blk\.(\d+)\./.test(r.name) && Number(/^blk\.(\d+)\./.exec(r.name)![1]) >= h.numLayers);
  if (extraLayer) {
    throw new FormatError(`config.json says ${h.numLayers} layers but the checkpoint has ${extraLayer.hfName}`, { path: h.source });
  }
  if (!names.has('output.weight') && !h.tiedEmbeddings && !spec.dropTensors?.includes('lm_head.weight')) {
    throw new FormatError(
      'config.json says the output head is not tied to the embeddings (tie_word_embeddings false) but the checkpoint has no lm_head.weight',
      {
        path: h.source,
      },
    );
  }
}

export interface TensorPlan {
  spec: ArchSpec;
  hparams: Hparams;
  recipes: TensorRecipe[];
  /** Rows of the token embedding: the vocabulary size the GGUF must have. */
  nVocab: number;
  dropped: string[];
}

/** Every GGUF tensor of the converted model, in source order (generated tensors first). */
export function planTensors(config: HfConfig, model: SafetensorsModel, out: OutType, source = model.dir): TensorPlan {
  let h = new Hparams(config, source);
  refuseFp8(h.raw, model);
  const spec = archSpecFor(h);
  if (spec.defaults) h = h.withDefaults(spec.defaults);
  const plan = classify(spec, model);
  const order = new Map([...model.tensors.values()].map((t, i) => [t.name, i]));
  const keyed: [number, TensorRecipe][] = [];
  for (const m of plan.plain) keyed.push([order.get(m.tensor.name)!, plainRecipe(h, spec, m, out)]);
  for (const g of plan.experts.values()) {
    const r = expertRecipe(h, spec, g, out);
    keyed.push([Math.min(...g.parts.map((p) => order.get(p.tensor.name)!)), r]);
  }
  for (const f of plan.fused) for (const r of fusedRecipes(h, spec, f, out)) keyed.push([order.get(f.tensor.name)!, r]);
  for (const [layer, parts] of plan.packed) {
    const first = Math.min(...[...parts.values()].map((t) => order.get(t.name)!));
    for (const r of spec.experts!.packed!.recipes(h, layer, parts, out)) keyed.push([first, r]);
  }
  keyed.sort((a, b) => a[0] - b[0]);
  const generated = extraTensors(spec, h).map<TensorRecipe>((g) => ({
    name: g.name,
    shape: [g.data.length],
    type: 'F32',
    hfName: null,
    segments: [],
    transform: {},
    generated: g.data,
  }));
  const recipes = [...generated, ...keyed.map(([, r]) => r)];
  if (plan.unmapped.length) throw unmappedError(spec, plan.unmapped, missingTensors(h, spec, recipes), source);
  checkCompleteness(h, spec, recipes);
  const embd = recipes.find((r) => r.name === 'token_embd.weight')!;
  const nVocab = embd.shape[1]!;
  const declared = h.num('vocab_size');
  if (declared !== undefined && declared !== nVocab) {
    throw new FormatError(`config.json says vocab_size ${declared} but the token embedding has ${nVocab} rows`, {
      path: source,
      tensor: String(embd.hfName),
    });
  }
  return { spec, hparams: h, recipes, nVocab, dropped: plan.dropped };
}

/**
 * The HF -> GGUF tensor map of a safetensors model as ModelTensors (GGUF names and shapes, experts
 * stacked), from headers only. `info` is accepted for the plan's calling convention; the config
 * decides the architecture.
 */
export function modelTensorsFromSafetensors(_info: ArchitectureInfo | null, config: HfConfig, model: SafetensorsModel): ModelTensor[] {
  const { recipes } = planTensors(config, model, 'f16');
  return recipes.map((r) => ({
    name: r.name,
    shape: r.shape,
    hfName: r.hfName,
    ...(r.sourceDtype ? { sourceDtype: r.sourceDtype } : {}),
    ...(r.generated ? { notParameter: true } : {}),
  }));
}
