/**
 * writeMlxModel: HF safetensors folder -> MLX model folder that mlx_lm.load reads, in TypeScript
 * on any OS. The policy decides each weight's width (see policy.ts); weights are stacked and named
 * as mlx_lm expects (names.ts), quantized on worker threads with MLX's CPU semantics (affine*.ts),
 * and streamed in row chunks into sorted, sharded safetensors (shards.ts). The folder is built
 * under a temporary name and renamed when complete.
 */
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { FormatError, UnsupportedError, throwIfCancelled } from '../errors';
import { openSafetensorsModel, type SafetensorsModel, type SafetensorsTensor } from '../formats/safetensors';
import type { SafetensorsDtype } from '../formats/safetensors-dtypes';
import { writeDirectoryAtomically } from '../fs/atomic';
import { readConfigJson, type JsonObject } from '../hf/config';
import { type JobOptions, noLog } from '../job';
import type { MlxQuant } from '../plan/types';
import { encodeFloats, isQuantizableShape, quantizedShapes, type MlxFloatDtype } from './affine';
import { AffinePool } from './affine-pool';
import { mlxConfig, pythonJson, quantizationBlock } from './config';
import { MLX_MXFP4, gptOssMlxExperts, isGptOssMxfp4Release, type GptOssMlxExperts } from './gpt-oss';
import { checkMlxModelType, mlxSourceTensors, type MlxSourceTensor } from './names';
import type { MlxPolicy } from './policy';
import { MLX_INDEX_FILE, MLX_MAX_SHARD_BYTES, ShardWriter, planShards, shardIndexJson, type OutputTensor } from './shards';
import { Inflight, MLX_CHUNK_BYTES, convertFloats, isFloatDtype, itemBytes, mlxDtypeFromConfig, readRowChunks } from './tensor-io';

/** Files copied unchanged from the source folder when present (tokenizer, chat template, generation). */
export const MLX_COPIED_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'tokenizer.model',
  'added_tokens.json',
  'vocab.json',
  'merges.txt',
  'chat_template.jinja',
  'chat_template.json',
  'generation_config.json',
] as const;

export interface WriteMlxOptions extends JobOptions {
  /** Worker threads for quantization (default: every core). */
  threads?: number;
  /** Source bytes per chunk (default 8 MiB). */
  chunkBytes?: number;
  /** Shard limit (default 5 GiB, as mlx_lm); tests lower it. */
  maxShardBytes?: number;
}

export interface MlxWeightDecision {
  modulePath: string;
  shape: number[];
  quant: MlxQuant | null;
  /** Why a weight the policy wanted quantized is not (e.g. row length not a multiple of the group). */
  note?: string;
}

export interface MlxWriteResult {
  outDir: string;
  /** Safetensors files written, in order. */
  files: string[];
  /** Bytes of all safetensors files. */
  bytes: number;
  tensorCount: number;
  /** Parameters of the source model (quantized weights counted unpacked, as mlx_lm counts them). */
  parameters: number;
  /** dtype of scales, biases and unquantized tensors. */
  dtype: MlxFloatDtype;
  /** config.json's "quantization" object. */
  quantization: JsonObject;
  weights: MlxWeightDecision[];
  /** Bits per parameter of the safetensors data. */
  bitsPerWeight: number;
  copiedFiles: string[];
  seconds: number;
}

interface Job {
  source: MlxSourceTensor;
  quant: MlxQuant | null;
}

interface Context {
  model: SafetensorsModel;
  dtype: MlxFloatDtype;
  writer: ShardWriter;
  pool: AffinePool;
  inflight: Inflight;
  chunkBytes: number;
  progress: (bytes: number) => void;
  signal?: AbortSignal;
}

export async function writeMlxModel(hfDir: string, outDir: string, policy: MlxPolicy, opts: WriteMlxOptions = {}): Promise<MlxWriteResult> {
  const started = Date.now();
  const log = opts.log ?? noLog;
  const dir = path.resolve(hfDir);
  const configPath = path.join(dir, 'config.json');
  if (!existsSync(configPath)) throw new FormatError('no config.json: pass a Hugging Face model folder', { path: dir });
  const config = await readConfigJson(configPath);
  checkMlxModelType(typeof config.model_type === 'string' ? config.model_type : undefined, configPath);
  // gpt-oss's MXFP4 release is the one quantized source: its experts are copied in MLX's mxfp4 mode.
  if ((config.quantization_config !== undefined && !isGptOssMxfp4Release(config)) || config.quantization !== undefined) {
    throw new UnsupportedError(`${configPath}: the model is already quantized; MLX output needs float (F32/F16/BF16) weights`);
  }
  const model = await openSafetensorsModel(dir);
  const tied = typeof config.tie_word_embeddings === 'boolean' ? config.tie_word_embeddings : !model.tensors.has('lm_head.weight');
  const dtype = targetDtype(config, model);
  const experts = config.model_type === 'gpt_oss' ? gptOssMlxExperts(model, dir, dtype) : null;
  const sources = mlxSourceTensors(withoutClaimed(model, experts), { tiedEmbeddings: tied, where: dir });
  const { jobs, decisions } = decide(sources, policy, log);
  for (const w of experts?.weights ?? []) decisions.push({ ...w, quant: { ...MLX_MXFP4 } });
  const outputs = [...jobs.flatMap((j) => outputTensors(j, dtype)), ...(experts?.outputs ?? [])];
  const shards = planShards(outputs, opts.maxShardBytes ?? MLX_MAX_SHARD_BYTES);
  const parameters = sources.reduce((n, s) => n + numel(s.shape), 0);
  const block = quantizationBlock(policy.defaults, new Map(decisions.map((d) => [d.modulePath, d.quant ?? false])));
  const outConfig = mlxConfig({ ...config, tie_word_embeddings: tied }, block);
  log(
    `MLX: ${sources.length} tensors, ${decisions.filter((d) => d.quant).length} of ${decisions.length} weights quantized ` +
      `(${policy.description}), ${dtype}, ${shards.length} file(s)`,
  );

  const target = path.resolve(outDir);
  await fsp.mkdir(path.dirname(target), { recursive: true });
  const copiedFiles = await writeDirectoryAtomically(
    target,
    async (tmp) => {
      await writeTensors(tmp, model, shards, jobs, dtype, opts, experts);
      await fsp.writeFile(path.join(tmp, MLX_INDEX_FILE), shardIndexJson(shards, parameters));
      await fsp.writeFile(path.join(tmp, 'config.json'), pythonJson(outConfig));
      return copyTokenizerFiles(dir, tmp);
    },
    { signal: opts.signal },
  );
  const bytes = shards.reduce((n, s) => n + s.bytes, 0);
  return {
    outDir: target,
    files: shards.map((s) => path.join(target, s.file)),
    bytes,
    tensorCount: outputs.length,
    parameters,
    dtype,
    quantization: block,
    weights: decisions,
    bitsPerWeight: parameters
      ? (shards.reduce((n, s) => n + [...s.byteLengths.values()].reduce((a, b) => a + b, 0), 0) * 8) / parameters
      : 0,
    copiedFiles,
    seconds: (Date.now() - started) / 1000,
  };
}

/** The checkpoint's tensors minus those an architecture's own writer takes (gpt-oss's MXFP4 experts). */
function withoutClaimed(model: SafetensorsModel, experts: GptOssMlxExperts | null): ReadonlyMap<string, SafetensorsTensor> {
  if (!experts) return model.tensors;
  return new Map([...model.tensors].filter(([name]) => !experts.claimed.has(name)));
}

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** The config's torch_dtype/dtype when it names a float type, else the most common float dtype of the weights. */
function targetDtype(config: JsonObject, model: SafetensorsModel): MlxFloatDtype {
  const fromConfig = mlxDtypeFromConfig(config.torch_dtype ?? config.dtype);
  if (fromConfig) return fromConfig;
  const counts = new Map<string, number>();
  for (const t of model.tensors.values()) if (isFloatDtype(t.dtype)) counts.set(t.dtype, (counts.get(t.dtype) ?? 0) + numel(t.shape));
  const top = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0];
  return top === 'F16' || top === 'BF16' ? top : 'F32';
}

/** Applies the policy to every weight matrix; the rest (norms, biases, 1-D) stay as they are. */
function decide(
  sources: MlxSourceTensor[],
  policy: MlxPolicy,
  log: (line: string) => void,
): { jobs: Job[]; decisions: MlxWeightDecision[] } {
  const jobs: Job[] = [];
  const decisions: MlxWeightDecision[] = [];
  for (const source of sources) {
    const candidate = source.name.endsWith('.weight') && source.shape.length >= 2 && isFloatDtype(source.dtype);
    if (!candidate) {
      jobs.push({ source, quant: null });
      continue;
    }
    const modulePath = source.name.slice(0, -'.weight'.length);
    const choice = policy.choose({ modulePath, hfNames: source.sources, shape: source.shape });
    let quant: MlxQuant | null = choice === false ? null : { bits: choice.bits, groupSize: choice.groupSize };
    let note: string | undefined;
    if (quant && !isQuantizableShape(source.shape, quant.groupSize)) {
      note = `row length ${source.shape[source.shape.length - 1]} is not a multiple of group size ${quant.groupSize}`;
      log(`MLX: ${modulePath} stays unquantized: ${note}`);
      quant = null;
    }
    decisions.push({ modulePath, shape: [...source.shape], quant, ...(note ? { note } : {}) });
    jobs.push({ source, quant });
  }
  return { jobs, decisions };
}

function outputTensors(job: Job, dtype: MlxFloatDtype): OutputTensor[] {
  const { source, quant } = job;
  if (!quant) {
    const outDtype = (isFloatDtype(source.dtype) ? dtype : source.dtype) as SafetensorsDtype;
    return [{ name: source.name, dtype: outDtype, shape: [...source.shape] }];
  }
  const base = source.name.slice(0, -'.weight'.length);
  const shapes = quantizedShapes(source.shape, quant);
  return [
    { name: source.name, dtype: 'U32', shape: shapes.weight },
    { name: `${base}.scales`, dtype, shape: shapes.scales },
    { name: `${base}.biases`, dtype, shape: [...shapes.scales] },
  ];
}

async function writeTensors(
  dir: string,
  model: SafetensorsModel,
  shards: ReturnType<typeof planShards>,
  jobs: Job[],
  dtype: MlxFloatDtype,
  opts: WriteMlxOptions,
  experts: GptOssMlxExperts | null,
): Promise<void> {
  const claimedBytes = [...(experts?.claimed ?? [])].reduce((n, name) => n + model.tensors.get(name)!.byteLength, 0);
  const total = claimedBytes + jobs.reduce((n, j) => n + j.source.sources.reduce((m, s) => m + model.tensors.get(s)!.byteLength, 0), 0);
  let done = 0;
  let lastReport = 0;
  const progress = (bytes: number): void => {
    done += bytes;
    const now = Date.now();
    if (now - lastReport >= 250 || done === total) {
      lastReport = now;
      opts.onProgress?.({ step: 'mlx', done, total, unit: 'bytes', message: 'quantizing MLX weights' });
    }
  };
  const writer = await ShardWriter.create(dir, shards);
  const pool = new AffinePool(opts.threads);
  const inflight = new Inflight(2 * pool.threads + 1);
  const ctx: Context = {
    model,
    dtype,
    writer,
    pool,
    inflight,
    chunkBytes: opts.chunkBytes ?? MLX_CHUNK_BYTES,
    progress,
    signal: opts.signal,
  };
  try {
    for (const job of jobs) {
      if (job.quant) await writeQuantized(ctx, job.source, job.quant);
      else await writePlain(ctx, job.source);
    }
    await inflight.drain();
    await experts?.write(writer, progress);
    await writer.close();
  } catch (error) {
    await inflight.settle();
    await writer.abort();
    throw error;
  } finally {
    await pool.close();
  }
}

/** The source tensors of an MLX tensor, with the element offset at which each one starts. */
function sourceParts(ctx: Context, source: MlxSourceTensor): { tensor: SafetensorsTensor; elementOffset: number }[] {
  let offset = 0;
  return source.sources.map((name) => {
    const tensor = ctx.model.tensors.get(name)!;
    const part = { tensor, elementOffset: offset };
    offset += numel(tensor.shape);
    return part;
  });
}

async function writeQuantized(ctx: Context, source: MlxSourceTensor, q: MlxQuant): Promise<void> {
  const rowLength = source.shape[source.shape.length - 1]!;
  const base = source.name.slice(0, -'.weight'.length);
  const scaleBytes = itemBytes(ctx.dtype);
  for (const { tensor, elementOffset } of sourceParts(ctx, source)) {
    for await (const chunk of readRowChunks(tensor, rowLength, ctx.chunkBytes)) {
      throwIfCancelled(ctx.signal);
      const values = convertFloats(chunk.bytes, tensor.dtype, ctx.dtype, `${tensor.file}: ${tensor.name}`);
      const first = elementOffset + chunk.row * rowLength;
      const sourceBytes = chunk.bytes.length;
      const task = ctx.pool.quantize(values, ctx.dtype, q, true).then(async (r) => {
        const group = first / q.groupSize;
        await ctx.writer.write(source.name, (first * q.bits) / 8, r.words);
        await ctx.writer.write(`${base}.scales`, group * scaleBytes, encodeFloats(r.scales, ctx.dtype));
        await ctx.writer.write(`${base}.biases`, group * scaleBytes, encodeFloats(r.biases, ctx.dtype));
        ctx.progress(sourceBytes);
      });
      await ctx.inflight.add(task);
    }
  }
}

async function writePlain(ctx: Context, source: MlxSourceTensor): Promise<void> {
  const float = isFloatDtype(source.dtype);
  const rowLength = source.shape.length ? source.shape[source.shape.length - 1]! : 1;
  const outItem = float ? itemBytes(ctx.dtype) : 0;
  for (const { tensor, elementOffset } of sourceParts(ctx, source)) {
    const inItem = numel(tensor.shape) ? tensor.byteLength / numel(tensor.shape) : 0;
    for await (const chunk of readRowChunks(tensor, rowLength, ctx.chunkBytes)) {
      throwIfCancelled(ctx.signal);
      const first = elementOffset + chunk.row * rowLength;
      const data = float ? convertFloats(chunk.bytes, tensor.dtype, ctx.dtype, `${tensor.file}: ${tensor.name}`) : chunk.bytes;
      await ctx.writer.write(source.name, first * (float ? outItem : inItem), data);
      ctx.progress(chunk.bytes.length);
    }
  }
}

export async function copyTokenizerFiles(from: string, to: string): Promise<string[]> {
  const copied: string[] = [];
  for (const name of MLX_COPIED_FILES) {
    const src = path.join(from, name);
    if (!existsSync(src)) continue;
    await fsp.copyFile(src, path.join(to, name));
    await fsp.chmod(path.join(to, name), 0o644); // a read-only source must not give a read-only output
    copied.push(name);
  }
  return copied;
}
