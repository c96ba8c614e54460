/**
 * How `run` and `chat` show a model's reasoning (Harmony's analysis channel): on stderr, dimmed
 * on a terminal and introduced by "thinking:", so stdout carries only the answer and a pipe keeps
 * just that; `--no-reasoning` hides it. `--json` output carries it as a "reasoning" field instead.
 */
import type { OptionSpecs } from './args';

export const reasoningOptions = {
  reasoning: {
    type: 'boolean',
    default: true,
    description: "show the model's reasoning (e.g. gpt-oss's analysis channel) on stderr, dimmed; --no-reasoning hides it",
  },
} as const satisfies OptionSpecs;

const DIM = '\u001b[2m';
const RESET = '\u001b[0m';

export interface ReasoningPrinter {
  /** Streams reasoning text; undefined when reasoning is hidden. */
  onReasoning?: (text: string) => void;
  /** Ends the reasoning block (a newline, and the end of the dimming), if one was started. */
  end(): void;
}

export function reasoningPrinter(show: boolean, stream: NodeJS.WriteStream = process.stderr): ReasoningPrinter {
  if (!show) return { end: () => {} };
  const dim = Boolean(stream.isTTY);
  let open = false;
  return {
    onReasoning(text) {
      if (!open) stream.write(`${dim ? DIM : ''}thinking: `);
      open = true;
      stream.write(text);
    },
    end() {
      if (!open) return;
      stream.write(`${dim ? RESET : ''}\n`);
      open = false;
    },
  };
}
