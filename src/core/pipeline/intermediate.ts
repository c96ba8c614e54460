/**
 * The F16 intermediate GGUF: what llama-quantize reads and what evaluation compares against.
 * For an HF folder the converter writes it next to the artifacts (and the pipeline deletes it after
 * evaluation unless asked to keep it); an F16/BF16/F32 GGUF input is its own intermediate and is
 * never deleted. The plan's picture of the file (names, shapes, types) is checked against the file.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { packageVersion } from '../assets';
import { convertToGguf } from '../convert';
import { FailureError } from '../errors';
import { readGgufHeader } from '../formats/gguf';
import type { JobOptions } from '../job';
import type { Baseline, ManifestSource } from '../manifest/types';
import type { QuantPlan } from '../plan/types';
import { inputsKey, sourceKey } from './keys';
import type { ModelSource } from './source';

export interface Intermediate {
  /** Absolute path. */
  path: string;
  sizeBytes: number;
  sha256: string;
  inputsKey: string;
  /** True when this pipeline made it (so it may delete it). */
  owned: boolean;
  /** Time the conversion took; 0 when the file was reused or the input is a GGUF. */
  convertMs: number;
}

export function intermediatePath(outDir: string, model: string): string {
  return path.join(outDir, `${model}-F16.gguf`);
}

export function intermediateKey(source: ManifestSource): string {
  return inputsKey({ source: sourceKey(source), converter: packageVersion(), outType: 'f16' });
}

/**
 * Reuses the previous run's intermediate when its key matches and the file is intact, else makes
 * it. `source` may still be hashing: it is awaited only where its key is needed, so a conversion
 * runs while the source files are hashed on another core.
 */
export async function ensureIntermediate(
  model: ModelSource,
  source: Promise<ManifestSource>,
  outDir: string,
  previous: Baseline | null,
  opts: JobOptions = {},
): Promise<Intermediate> {
  if (model.kind === 'gguf') {
    const { files } = await source;
    return {
      path: model.path,
      sizeBytes: files[0]!.sizeBytes,
      sha256: files[0]!.sha256,
      inputsKey: intermediateKey(await source),
      owned: false,
      convertMs: 0,
    };
  }
  const file = intermediatePath(outDir, model.name);
  if (previous?.sha256 && previous.sizeBytes !== null) {
    const info = await stat(file).catch(() => null);
    const key = info?.size === previous.sizeBytes ? intermediateKey(await source) : null;
    if (key && previous.inputsKey === key) {
      opts.log?.(`reusing ${path.basename(file)} (inputs unchanged)`);
      return { path: file, sizeBytes: info!.size, sha256: previous.sha256, inputsKey: key, owned: true, convertMs: 0 };
    }
  }
  const result = await convertToGguf(model.path, { outPath: file, outType: 'f16' }, opts);
  // The converter hashed the bytes as it wrote them: reading the file back (O_DIRECT, so cold) costs seconds.
  return {
    path: file,
    sizeBytes: result.bytes,
    sha256: result.sha256,
    inputsKey: intermediateKey(await source),
    owned: true,
    convertMs: result.seconds * 1000,
  };
}

/** The intermediate holds exactly the tensors the plan was made for, with the planned source types. */
export async function checkIntermediateMatchesPlan(file: string, plan: QuantPlan): Promise<void> {
  const gguf = await readGgufHeader(file);
  const byName = new Map(gguf.tensors.map((t) => [t.name, t]));
  const problems: string[] = [];
  for (const t of plan.tensors) {
    const actual = byName.get(t.name);
    if (!actual) problems.push(`${t.name} is missing`);
    else if (actual.type !== t.sourceType || actual.shape.join('x') !== t.shape.join('x')) {
      problems.push(`${t.name} is ${actual.type} [${actual.shape.join(', ')}], the plan expected ${t.sourceType} [${t.shape.join(', ')}]`);
    }
  }
  if (gguf.tensors.length !== plan.tensors.length)
    problems.push(`the file has ${gguf.tensors.length} tensors, the plan ${plan.tensors.length}`);
  if (problems.length) throw new FailureError(`${file} does not match the plan: ${problems.slice(0, 6).join('; ')}`, { problems });
}
