/**
 * `pajamas run <manifest|gguf> -p "prompt"`: one reply, streamed to stdout. A model with a chat
 * template answers the prompt as a user message; a model without one (or `--raw`) continues the
 * prompt as plain text, tokenized as llama.cpp's examples do. Temperature 0 is greedy, so the
 * output is deterministic. The session options here are shared with `chat` and `bench`.
 */
import { CancelledError, UsageError } from '../../core/errors';
import type { JobOptions } from '../../core/job';
import { GPU_CHOICES } from '../../core/runtime/node-llama';
import { type OpenSessionOptions, openSession } from '../../core/runtime/session';
import type { VerifyMode } from '../../core/runtime/target';
import type { BackendKind, GenerateResult, RuntimeSession } from '../../core/runtime/types';
import { type OptionSpecs, type ParsedOptions, onePositional, parseArgs } from '../args';
import type { Command } from '../command';
import type { CliIo } from '../io';
import { reasoningOptions, reasoningPrinter } from '../reasoning';

export const sessionOptions = {
  artifact: { type: 'string', value: '<id>', description: 'run this artifact of the manifest instead of the best one that fits' },
  backend: { type: 'string', value: 'auto|gguf|mlx', default: 'auto', description: 'force a backend' },
  'context-size': { type: 'number', value: '<n>', description: "context length in tokens (default 4096, or the model's if shorter)" },
  verify: {
    type: 'string',
    value: 'full|size',
    default: 'full',
    description: 'check artifact files by SHA-256 (remembered per file) or by size only',
  },
  threads: { type: 'number', value: '<n>', description: 'CPU threads (default: the physical cores)' },
  gpu: { type: 'string', value: 'auto|cuda|vulkan|metal|cpu', default: 'auto', description: 'GGUF backend: GPU to use, or cpu' },
  system: { type: 'string', value: '<text>', description: 'system prompt' },
} as const satisfies OptionSpecs;

export const generationOptions = {
  'max-tokens': { type: 'number', value: '<n>', description: 'most tokens to generate (default 512)' },
  temperature: { type: 'number', value: '<t>', description: 'sampling temperature; 0 = greedy and deterministic (default 0.7)' },
  seed: { type: 'number', value: '<n>', description: 'sampling seed' },
  stop: { type: 'string', value: '<text>', description: 'stop when this text is generated' },
} as const satisfies OptionSpecs;

const options = {
  prompt: { type: 'string', short: 'p', value: '<text>', description: 'the prompt (required)' },
  ...generationOptions,
  raw: { type: 'boolean', description: 'plain text completion, no chat template' },
  ...reasoningOptions,
  chat: { type: 'boolean', description: 'use the chat template even when the model has none' },
  ...sessionOptions,
  json: {
    type: 'boolean',
    description: 'print one JSON document: {"text", "reasoning" (when given), "stopReason", "tokens", "artifact", "backend", "device"}',
  },
} as const;

const BACKENDS = ['auto', 'gguf', 'mlx'] as const;
const VERIFY = ['full', 'size'] as const;

function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  const found = allowed.find((a) => a === value);
  if (!found) throw new UsageError(`--${name} takes ${allowed.join(', ')}; got "${value}"`);
  return found;
}

export function positiveInt(name: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`--${name} needs a positive whole number, got ${value}`);
  return value;
}

/** Session options from the shared flags. */
export function sessionOptionsFrom(o: ParsedOptions<typeof sessionOptions>, job: JobOptions): OpenSessionOptions {
  return {
    ...job,
    artifact: o.artifact,
    backend: oneOf('backend', o.backend!, BACKENDS) as BackendKind | 'auto',
    contextSize: positiveInt('context-size', o['context-size']),
    verify: oneOf('verify', o.verify!, VERIFY) as VerifyMode,
    threads: positiveInt('threads', o.threads),
    gpu: oneOf('gpu', o.gpu!, GPU_CHOICES),
    systemPrompt: o.system,
  };
}

export function generationFrom(o: ParsedOptions<typeof generationOptions>) {
  if (o.temperature !== undefined && o.temperature < 0) throw new UsageError('--temperature must be 0 or more');
  const maxTokens = o['max-tokens'];
  if (maxTokens !== undefined && (!Number.isInteger(maxTokens) || maxTokens < 0))
    throw new UsageError('--max-tokens needs a whole number, 0 or more');
  return { maxTokens, temperature: o.temperature, seed: o.seed, stop: o.stop !== undefined ? [o.stop] : undefined };
}

export function describeSession(session: RuntimeSession): string {
  const i = session.info;
  return `${i.backend === 'gguf' ? `node-llama-cpp (${i.device})` : 'mlx_lm.server'}: ${i.artifactId}, context ${i.contextSize}`;
}

export const runCommand: Command = {
  name: 'run',
  summary: "Generate one reply to a prompt with a manifest's best-fitting artifact or a GGUF file",
  usage: '<manifest|folder|model.gguf> -p "prompt" [--max-tokens N] [--temperature T] [--seed S] [--raw] [--json] ...',
  options,
  async run(argv: string[], io: CliIo): Promise<number> {
    const { options: o, positionals } = parseArgs(argv, options);
    if (o.prompt === undefined) throw new UsageError('missing -p "prompt"');
    if (o.raw && o.chat) throw new UsageError('--raw and --chat exclude each other');
    const job = io.job();
    const generation = generationFrom(o);
    const session = await openSession(
      onePositional(positionals, '<manifest|folder|file.gguf>'),
      sessionOptionsFrom(o, { ...job, log: job.log }),
    );
    let result: GenerateResult;
    try {
      io.log(describeSession(session));
      const useChat = o.chat || (!o.raw && session.info.chatTemplate);
      const thinking = reasoningPrinter(o.reasoning && !o.json);
      const stream = o.json
        ? undefined
        : (text: string) => {
            thinking.end();
            process.stdout.write(text);
          };
      const gen = { ...generation, onToken: stream, onReasoning: thinking.onReasoning, signal: job.signal };
      try {
        result = useChat ? await session.chat(o.prompt, gen) : await session.complete(o.prompt, gen);
      } finally {
        thinking.end();
      }
    } finally {
      await session.close();
    }
    if (o.json)
      io.json({
        text: result.text,
        ...(result.reasoning !== undefined && o.reasoning ? { reasoning: result.reasoning } : {}),
        stopReason: result.stopReason,
        tokens: result.tokens,
        artifact: session.info.artifactId,
        backend: session.info.backend,
        device: session.info.device,
      });
    else process.stdout.write('\n');
    if (result.stopReason === 'cancelled') throw new CancelledError('stopped');
    return 0;
  },
};
