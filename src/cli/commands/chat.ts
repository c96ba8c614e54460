/**
 * `pajamas chat <manifest|gguf>`: an interactive conversation. Replies stream to stdout; prompts,
 * notices and the session description go to stderr, so piping stdout keeps only the replies.
 * `/reset` forgets the conversation, `/exit` (or end of input) leaves. Ctrl-C stops the reply
 * being generated, not the program; at an idle prompt it says how to leave.
 */
import { createInterface } from 'node:readline';
import { openSession } from '../../core/runtime/session';
import type { RuntimeSession } from '../../core/runtime/types';
import { onePositional, parseArgs } from '../args';
import type { Command } from '../command';
import type { CliIo } from '../io';
import { reasoningOptions, reasoningPrinter } from '../reasoning';
import { describeSession, generationFrom, generationOptions, sessionOptions, sessionOptionsFrom } from './run';

const options = {
  ...generationOptions,
  ...sessionOptions,
  ...reasoningOptions,
} as const;

const HELP = '/reset forgets the conversation, /exit leaves; Ctrl-C stops a reply';

export const chatCommand: Command = {
  name: 'chat',
  summary: "Chat with a manifest's best-fitting artifact or a GGUF file (streaming; /reset, /exit)",
  usage: '<manifest|folder|model.gguf> [--system "..."] [--temperature T] [--max-tokens N] ...',
  options,
  async run(argv: string[], io: CliIo): Promise<number> {
    const { options: o, positionals } = parseArgs(argv, options);
    const job = io.job();
    const generation = generationFrom(o);
    const session = await openSession(onePositional(positionals, '<manifest|folder|file.gguf>'), sessionOptionsFrom(o, job));
    try {
      io.log(describeSession(session));
      if (!session.info.chatTemplate) io.log('note: the model has no chat template; a generic prompt format is used');
      io.log(HELP);
      await converse(session, generation, io, job.signal, o.reasoning);
    } finally {
      await session.close();
    }
    return 0;
  },
};

async function converse(
  session: RuntimeSession,
  generation: ReturnType<typeof generationFrom>,
  io: CliIo,
  stop: AbortSignal | undefined,
  showReasoning: boolean,
): Promise<void> {
  const interactive = Boolean(process.stdin.isTTY);
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: interactive });
  rl.setPrompt('> ');
  let reply: AbortController | null = null;
  const interrupt = () => {
    if (reply) reply.abort();
    else {
      process.stderr.write(`\n(${HELP})\n`);
      if (interactive) rl.prompt();
    }
  };
  // On a terminal readline reads Ctrl-C as a key; otherwise it arrives as a signal, which the
  // CLI hands to us instead of cancelling the command while the chat runs.
  rl.on('SIGINT', interrupt);
  const releaseInterrupts = io.onInterrupt(interrupt);
  // SIGTERM (the CLI's job signal) ends the chat: stop the reply, stop reading.
  const onStop = () => {
    reply?.abort();
    rl.close();
  };
  stop?.addEventListener('abort', onStop, { once: true });
  try {
    if (interactive) rl.prompt();
    for await (const raw of rl) {
      const line = raw.trim();
      if (line === '/exit' || line === '/quit') break;
      if (line === '/reset') {
        await session.reset();
        process.stderr.write('(conversation reset)\n');
      } else if (line === '/help') {
        process.stderr.write(`${HELP}\n`);
      } else if (line) {
        reply = new AbortController();
        const result = await replyTo(session, line, { ...generation, signal: reply.signal }, showReasoning);
        reply = null;
        if (result === 'cancelled') process.stderr.write('(stopped)\n');
      }
      if (interactive) rl.prompt();
    }
  } finally {
    stop?.removeEventListener('abort', onStop);
    releaseInterrupts();
    rl.close();
  }
}

async function replyTo(
  session: RuntimeSession,
  text: string,
  gen: ReturnType<typeof generationFrom> & { signal: AbortSignal },
  showReasoning: boolean,
): Promise<string> {
  const thinking = reasoningPrinter(showReasoning);
  const onToken = (piece: string) => {
    thinking.end();
    process.stdout.write(piece);
  };
  try {
    const result = await session.chat(text, { ...gen, onToken, onReasoning: thinking.onReasoning });
    return result.stopReason;
  } finally {
    thinking.end();
    process.stdout.write('\n');
  }
}
