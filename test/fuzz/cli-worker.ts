/**
 * The fuzz supervisor's child: runs `pajamas` commands in-process, one per IPC request, through
 * the built CLI's own main() (dist/cli.js, as bin/pajamas.js runs it), capturing what each writes
 * to stdout and stderr. Running many commands in one process keeps a few thousand runs within
 * minutes; anything that kills the process (a native abort, an unhandled rejection, running out
 * of heap) is seen by the supervisor as a crash of the command in flight.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

interface Request {
  id: number;
  argv: string[];
}

const root = path.resolve(__dirname, '..', '..');
const cli = createRequire(__filename)(path.join(root, 'dist', 'cli.js')) as { main(argv: string[]): Promise<number> };

/** Peak resident memory since the last reset, from /proc (Linux); null where unavailable. */
function peakRssBytes(): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

function resetPeakRss(): void {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    // not Linux, or not permitted: the supervisor's own sampling still bounds memory
  }
}

type Write = typeof process.stdout.write;

async function runOne(req: Request): Promise<void> {
  const out: string[] = [];
  const err: string[] = [];
  const capture = (sink: string[]): Write => ((chunk: unknown) => (sink.push(String(chunk)), true)) as Write;
  const [stdoutWrite, stderrWrite] = [process.stdout.write, process.stderr.write];
  resetPeakRss();
  const started = performance.now();
  let code: number;
  process.stdout.write = capture(out);
  process.stderr.write = capture(err);
  try {
    code = await cli.main(req.argv);
  } catch (error) {
    // main() maps every error to an exit code; reaching here is a bug the supervisor reports.
    code = -1;
    err.push(`UNCAUGHT ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  } finally {
    process.stdout.write = stdoutWrite;
    process.stderr.write = stderrWrite;
  }
  const tail = (parts: string[]) => parts.join('').slice(-4000);
  process.send!({ id: req.id, code, stdout: tail(out), stderr: tail(err), ms: performance.now() - started, peakRssBytes: peakRssBytes() });
}

let queue = Promise.resolve();
process.on('message', (req: Request) => {
  queue = queue.then(() => runOne(req));
});
process.send!({ ready: true });
