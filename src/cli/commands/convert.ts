/**
 * `pajamas convert <hf-dir> -o <file.gguf> [--outtype f16|bf16|f32]`: a Hugging Face safetensors
 * model folder to a GGUF that llama.cpp and node-llama-cpp load, without Python.
 */
import { onePositional, parseArgs } from '../args';
import type { Command } from '../command';
import type { CliIo } from '../io';
import { formatBytes } from '../../core/units';
import { UsageError } from '../../core/errors';
import { convertToGguf, isOutType, OUT_TYPES } from '../../core/convert';

const options = {
  output: { type: 'string', short: 'o', value: '<file.gguf>', description: 'the GGUF file to write (replaced if it exists)' },
  outtype: {
    type: 'string',
    value: '<type>',
    default: 'f16',
    description: `type of the weight matrices: ${Object.keys(OUT_TYPES).join(', ')} (norms, biases, routers stay f32)`,
  },
  'pre-tokenizer': {
    option: 'preTokenizer',
    type: 'string',
    value: '<name>',
    description: 'llama.cpp pre-tokenizer name for a BPE tokenizer.json whose family is not recognised (e.g. llama-bpe, qwen2, gpt-4o)',
  },
  'vocab-only': { type: 'boolean', description: 'write only the metadata and vocabulary (no weights needed), as llama.cpp --vocab-only' },
  json: { type: 'boolean', description: 'print one JSON document with the result' },
} as const;

export const convertCommand: Command = {
  name: 'convert',
  summary: 'Convert a Hugging Face safetensors model folder to GGUF (no Python needed)',
  usage: '<hf-dir> -o <file.gguf> [--outtype f16|bf16|f32] [--pre-tokenizer <name>] [--vocab-only] [--json]',
  options,
  async run(argv: string[], io: CliIo): Promise<number> {
    const { options: o, positionals } = parseArgs(argv, options);
    if (!o.output) throw new UsageError('missing -o <file.gguf>');
    const outType = (o.outtype ?? 'f16').toLowerCase();
    if (!isOutType(outType)) throw new UsageError(`--outtype must be one of ${Object.keys(OUT_TYPES).join(', ')}, got "${o.outtype}"`);
    const result = await convertToGguf(
      onePositional(positionals, '<hf-dir>'),
      { outPath: o.output, outType, preTokenizer: o['pre-tokenizer'], vocabOnly: o['vocab-only'] },
      io.job(),
    );
    if (o.json) {
      io.json(result);
    } else {
      io.out(
        `wrote ${result.outPath}: ${result.architecture}, ${result.tensorCount} tensors, ${formatBytes(result.bytes)} ` +
          `(${result.outType}) in ${result.seconds.toFixed(1)} s\n` +
          `vocabulary: ${result.vocabulary}`,
      );
    }
    return 0;
  },
};
