/**
 * HF safetensors folder -> GGUF, in TypeScript (no Python, no torch): the llama.cpp converter's
 * result for the supported architectures, streamed one tensor chunk at a time. Everything that
 * can fail on bad input (config, tensor names and shapes, tokenizer) is checked before the output
 * file is created; the output is written under a temporary name and renamed only when complete.
 */
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { FormatError, InternalError, throwIfCancelled } from '../errors';
import { GgufWriter } from '../formats/gguf-writer';
import { diskFullError, isDiskFull } from '../fs/disk-full';
import { openSafetensorsModel } from '../formats/safetensors';
import { StagedFileSink } from '../formats/staged-file-sink';
import { readConfigJson, type HfConfig } from '../hf/config';
import { hasTokenizer, loadGgufVocab } from '../hf/tokenizer';
import { type JobOptions, noLog } from '../job';
import { archSpecFor } from './arch-specs';
import { Hparams } from './hparams';
import { gptOssWarnings } from './gpt-oss';
import { buildMetadata, readGenerationConfig } from './model-metadata';
import { type OutType } from './recipe';
import { planTensors, type TensorPlan } from './tensor-map';
import { SourceFiles, checkSourceDtype, newBuffers, writeTensorData, type Buffers } from './tensor-data';

export interface ConvertOptions {
  outPath: string;
  /** Type of the weight matrices (default f16); norms, biases and routers stay f32. */
  outType?: OutType;
  /** Forces tokenizer.ggml.pre for byte-level BPE tokenizers whose family is not recognised. */
  preTokenizer?: string;
  /**
   * Writes metadata and vocabulary only, no tensors (llama.cpp's --vocab-only): the folder needs
   * config.json and the tokenizer files, not the weights. The vocabulary size is config.json's.
   */
  vocabOnly?: boolean;
}

export interface ConvertResult {
  outPath: string;
  outType: OutType;
  /** general.architecture */
  architecture: string;
  tensorCount: number;
  /** Size of the written file. */
  bytes: number;
  vocabulary: string;
  warnings: string[];
  seconds: number;
  sha256: string;
}

/** Progress is reported at most this often (plus at the start and the end). */
const PROGRESS_INTERVAL_MS = 250;

export async function convertToGguf(input: string, options: ConvertOptions, job: JobOptions = {}): Promise<ConvertResult> {
  const started = Date.now();
  const log = job.log ?? noLog;
  const outType = options.outType ?? 'f16';
  const dir = path.resolve(input);
  const configPath = path.join(dir, 'config.json');
  if (!existsSync(configPath)) throw new FormatError('no config.json: pass a Hugging Face model folder', { path: dir });
  const config = await readConfigJson(configPath);
  const plan = options.vocabOnly
    ? planVocabOnly(config, configPath)
    : planTensors(config, await openSafetensorsModel(dir), outType, configPath);
  for (const r of plan.recipes) checkSourceDtype(r);
  const warnings = configWarnings(plan);
  for (const w of warnings) log(`warning: ${w}`);
  if (plan.dropped.length)
    log(`left out ${plan.dropped.length} tensor(s) llama.cpp does not use, e.g. ${plan.dropped.slice(0, 3).join(', ')}`);
  if (!hasTokenizer(dir)) {
    throw new FormatError(
      'no tokenizer: the folder needs tokenizer.model or tokenizer.json (copy them from the original model repository)',
      { path: dir },
    );
  }
  const vocab = await loadGgufVocab(dir, { nVocab: plan.nVocab, config, preTokenizer: options.preTokenizer, log });
  log(`vocabulary: ${vocab.description}, ${vocab.tokens.length} tokens`);
  const metadata = buildMetadata({
    plan,
    vocab,
    outType,
    name: path.basename(dir),
    generationConfig: await readGenerationConfig(dir, log),
  });
  throwIfCancelled(job.signal);

  await fsp.mkdir(path.dirname(path.resolve(options.outPath)), { recursive: true });
  const files = new SourceFiles();
  const buffers = newBuffers();
  // Multi-GB output: staged writes that switch to O_DIRECT when the page cache throttles, from
  // stage buffers the kernels convert straight into; hashed on the way (the manifest needs it).
  let sink: StagedFileSink | undefined;
  const stageBuffers = buffers.donateOutputs();
  const writer = new GgufWriter(options.outPath, {
    signal: job.signal,
    sha256: true,
    sink: async (finalPath) => (sink = await StagedFileSink.open(finalPath, { stageBuffers })),
  });
  for (const [key, kv] of metadata) writer.set(key, kv);
  for (const r of plan.recipes) writer.addTensor({ name: r.name, shape: r.shape, type: r.type });
  const total = writer.tensorInfos().reduce((n, t) => n + t.byteLength, 0);
  const nonFinite = new Map<string, number>();
  try {
    await writer.writeHeader();
    await writeAllTensors(plan, writer, files, buffers, total, job, nonFinite);
    for (const w of nonFiniteWarnings(nonFinite, outType)) {
      warnings.push(w);
      log(`warning: ${w}`);
    }
    const written = await writer.finish();
    if (sink?.usesDirectIo) log('the page cache slowed down; the rest of the file was written with direct I/O');
    if (written.sha256 === undefined) throw new InternalError(`${written.path}: the writer did not hash the file`);
    return {
      outPath: written.path,
      outType,
      architecture: plan.spec.ggufArch,
      tensorCount: plan.recipes.length,
      bytes: written.bytes,
      vocabulary: vocab.description,
      warnings,
      seconds: (Date.now() - started) / 1000,
      sha256: written.sha256,
    };
  } catch (error) {
    await writer.abort();
    if (!isDiskFull(error)) throw error;
    const outPath = path.resolve(options.outPath);
    throw await diskFullError(error, { folder: path.dirname(outPath), file: outPath, neededBytes: total });
  } finally {
    await files.close();
  }
}

async function writeAllTensors(
  plan: TensorPlan,
  writer: GgufWriter,
  files: SourceFiles,
  buffers: Buffers,
  total: number,
  job: JobOptions,
  nonFinite: Map<string, number>,
): Promise<void> {
  let done = 0;
  let lastReport = 0;
  const report = (message: string, force = false): void => {
    const now = Date.now();
    if (!force && now - lastReport < PROGRESS_INTERVAL_MS) return;
    lastReport = now;
    job.onProgress?.({ step: 'convert', done, total, unit: 'bytes', message });
  };
  report('writing tensors', true);
  for (const r of plan.recipes) {
    await writeTensorData(
      r,
      {
        write: (chunk) => writer.writeTensorPart(r.name, chunk),
        reserve: (n) => writer.reserveTensorPart(r.name, n),
        commit: (n) => writer.commitTensorPart(r.name, n),
        maxReserve: writer.maxReserve,
      },
      {
        files,
        buffers,
        signal: job.signal,
        onNonFinite: (n) => nonFinite.set(r.name, (nonFinite.get(r.name) ?? 0) + n),
        onBytes: (n) => {
          done += n;
          report(r.name);
        },
      },
    );
  }
  report('done', true);
}

/** One warning per affected tensor (the first few), saying how many values are NaN or infinite. */
function nonFiniteWarnings(counts: ReadonlyMap<string, number>, outType: OutType): string[] {
  const listed = [...counts]
    .slice(0, 8)
    .map(([name, n]) => `tensor ${name} holds ${n} NaN or infinite value(s) after conversion to ${outType}`);
  if (counts.size > 8) listed.push(`${counts.size - 8} more tensor(s) hold NaN or infinite values`);
  if (listed.length)
    listed.push(
      "the model will compute NaN or nonsense; check the source checkpoint (a value beyond F16's range overflows to " +
        'infinity; a BF16 output keeps it)',
    );
  return listed;
}

function planVocabOnly(config: HfConfig, source: string): TensorPlan {
  let hparams = new Hparams(config, source);
  const spec = archSpecFor(hparams);
  if (spec.defaults) hparams = hparams.withDefaults(spec.defaults);
  return { spec, hparams, recipes: [], nVocab: hparams.int('vocab_size'), dropped: [] };
}

/** Config values llama.cpp's graph for this architecture cannot honour; the GGUF still loads. */
function configWarnings(plan: TensorPlan): string[] {
  const h = plan.hparams;
  const out: string[] = [];
  const norm = h.bool('norm_topk_prob');
  if (plan.spec.ggufArch === 'qwen3moe' && norm === false) {
    out.push(
      "norm_topk_prob is false, but llama.cpp's qwen3moe always renormalises the top-k expert weights; outputs will differ from " +
        'transformers',
    );
  }
  if (plan.spec.ggufArch === 'qwen2moe' && norm === true) {
    out.push(
      "norm_topk_prob is true, but llama.cpp's qwen2moe never renormalises the top-k expert weights; outputs will differ from transformers",
    );
  }
  const scalar = h.num('query_pre_attn_scalar');
  if ((plan.spec.ggufArch === 'gemma2' || plan.spec.ggufArch === 'gemma3') && scalar !== undefined) {
    // llama.cpp does not read query_pre_attn_scalar: it scales by head_dim, or by hidden/heads for
    // the 27B models (recognised by their layer count).
    const is27b = h.numLayers === (plan.spec.ggufArch === 'gemma2' ? 46 : 62);
    const used = is27b ? h.hiddenSize / h.numHeads : h.headDim;
    if (scalar !== used)
      out.push(
        `query_pre_attn_scalar is ${scalar} but llama.cpp's ${plan.spec.ggufArch} scales attention by 1/sqrt(${used}); outputs will ` +
          `differ from transformers`,
      );
  }
  if (plan.spec.ggufArch === 'gpt-oss') out.push(...gptOssWarnings(h));
  return out;
}
