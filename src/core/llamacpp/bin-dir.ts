/**
 * User-provided llama.cpp binaries (--llama-bin-dir / PAJAMAS_LLAMA_BIN_DIR, or the extension's
 * setting): every tool must exist and start. Each is run once with --version (the tools built on
 * llama.cpp's common arguments print their build) or --help (the others print a usage text and may
 * exit 1), so a wrong directory, a missing shared library or a binary for another CPU is reported
 * before any job starts, not halfway through one.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import { type Remedy, UsageError } from '../errors';
import { spawnCollect } from './process';
import { LLAMA_TOOLS, type LlamaToolName, type LlamaTools, toolFileName } from './tools';

/** A cold start of a large static binary from a slow disk can take a few seconds. */
export const PROBE_TIMEOUT_MS = 20_000;

/** Tools that take llama.cpp's common arguments and so answer --version. */
const VERSION_TOOLS: ReadonlySet<LlamaToolName> = new Set(['llama-imatrix', 'llama-perplexity', 'llama-tokenize', 'llama-server']);

export interface LlamaVersion {
  /** "0.4.0-dev" (semver builds) or "b6123" (numbered builds). */
  release: string;
  build: number | null;
  commit: string | null;
}

/**
 * Parses a tool's build line: "version: 0.4.0-dev (build 1, commit 80fb11a)" in current llama.cpp,
 * "version: 6123 (abc1234)" in numbered releases (whose tags are "b6123").
 */
export function parseLlamaVersion(text: string): LlamaVersion | null {
  const semver = /version:\s*(\S+)\s*\(build (\d+), commit ([0-9a-f]+|unknown)\)/.exec(text);
  if (semver) return { release: semver[1]!, build: Number(semver[2]), commit: semver[3] === 'unknown' ? null : semver[3]! };
  const numbered = /version:\s*(\d+)\s*\(([0-9a-f]+|unknown)\)/.exec(text);
  if (numbered) return { release: `b${numbered[1]}`, build: Number(numbered[1]), commit: numbered[2] === 'unknown' ? null : numbered[2]! };
  return null;
}

export interface ToolProbe {
  tool: LlamaToolName;
  path: string;
  /** null when the tool runs; otherwise what is wrong with it. */
  problem: string | null;
  version: LlamaVersion | null;
}

export async function probeTool(tool: LlamaToolName, file: string, signal?: AbortSignal): Promise<ToolProbe> {
  try {
    await access(file, constants.X_OK);
  } catch {
    const present = await stat(file).then(
      () => true,
      () => false,
    );
    return { tool, path: file, problem: present ? 'is not executable' : 'is missing', version: null };
  }
  let problem = 'did not answer --help';
  for (const flag of VERSION_TOOLS.has(tool) ? ['--version', '--help'] : ['--help']) {
    const outcome = await spawnCollect(file, [flag], { signal, timeoutMs: PROBE_TIMEOUT_MS });
    const text = `${outcome.stdout}\n${outcome.stderr}`;
    if (flag === '--version' && outcome.exitCode === 0) {
      const version = parseLlamaVersion(text);
      if (version) return { tool, path: file, problem: null, version };
    }
    // Usage texts exit 0 or 1 depending on the tool; anything else (127: a missing library,
    // 132: an illegal instruction, a signal) means it cannot run here.
    if (flag === '--help' && (outcome.exitCode === 0 || outcome.exitCode === 1) && /usage/i.test(text)) {
      return { tool, path: file, problem: null, version: parseLlamaVersion(text) };
    }
    problem = describeFailure(flag, outcome);
  }
  return { tool, path: file, problem, version: null };
}

function describeFailure(flag: string, o: Awaited<ReturnType<typeof spawnCollect>>): string {
  const how = o.spawnError
    ? `could not be started (${o.spawnError.message})`
    : o.timedOut
      ? `did not finish ${flag} within ${PROBE_TIMEOUT_MS / 1000} s`
      : o.exitCode === null
        ? `was killed by ${o.signal ?? 'a signal'} on ${flag}`
        : o.exitCode <= 1
          ? `does not look like a llama.cpp tool (no version or usage text for ${flag}, exit code ${o.exitCode})`
          : `exited with code ${o.exitCode} on ${flag}`;
  const said = o.outputTail.slice(-3).join(' | ');
  return said ? `${how}: ${said}` : how;
}

export interface BinDirOptions {
  signal?: AbortSignal;
  /** The commit node-llama-cpp's runtime was built from; a different one earns a warning. */
  expectedCommit?: string;
  /** Where the directory came from, for messages ("the llama.cpp binary directory", "PAJAMAS_LLAMA_BIN_DIR"). */
  origin?: string;
}

const validated = new Map<string, { stamp: string; tools: LlamaTools }>();

/** Checks every tool in `dir`; throws a UsageError listing all problems at once. */
export async function validateLlamaBinDir(dir: string, opts: BinDirOptions = {}): Promise<LlamaTools> {
  const binDir = path.resolve(dir);
  const origin = opts.origin ?? 'the llama.cpp binary directory';
  const dirStat = await stat(binDir).catch(() => null);
  if (!dirStat?.isDirectory())
    throw new UsageError(
      `${origin} ${binDir} is not a directory; point it at the folder that holds llama-quantize and the other llama.cpp tools`,
    );
  const files = LLAMA_TOOLS.map((tool) => path.join(binDir, toolFileName(tool)));
  // The worker is long-lived: re-probe when a binary changes (rebuilt in place), not on every job.
  const stamp = `${await filesStamp(files)}|${opts.expectedCommit ?? ''}`;
  const cached = validated.get(binDir);
  if (cached?.stamp === stamp) return cached.tools;

  const probes = await Promise.all(LLAMA_TOOLS.map((tool, i) => probeTool(tool, files[i]!, opts.signal)));
  const bad = probes.filter((p) => p.problem);
  if (bad.length) {
    const list = bad.map((p) => `  ${p.tool} ${p.problem}`).join('\n');
    throw new UsageError(
      `${origin} ${binDir} does not hold working llama.cpp tools:\n${list}\n` +
        'Point it at a llama.cpp build that has all of them, or unset it to use the tools Llama-Pajamas builds.',
      {
        binDir,
        problems: bad.map((p) => ({ tool: p.tool, problem: p.problem })),
        remedies: [{ option: 'llamaBinDir' }, { action: 'buildLlamaTools' }] satisfies Remedy[],
      },
    );
  }
  const tools = summarise(binDir, probes, opts.expectedCommit);
  validated.set(binDir, { stamp, tools });
  return tools;
}

function summarise(binDir: string, probes: ToolProbe[], expectedCommit: string | undefined): LlamaTools {
  const versions = probes.map((p) => p.version).filter((v): v is LlamaVersion => v !== null);
  const first = versions[0] ?? null;
  const warnings: string[] = [];
  if (new Set(versions.map((v) => `${v.release}/${v.commit}`)).size > 1) {
    warnings.push(
      `the tools in ${binDir} come from different llama.cpp builds (${[...new Set(versions.map((v) => v.commit))].join(', ')})`,
    );
  }
  if (!first) warnings.push(`none of the tools in ${binDir} printed its llama.cpp version`);
  else if (expectedCommit && first.commit && !expectedCommit.startsWith(first.commit)) {
    warnings.push(
      `${binDir} holds llama.cpp ${first.release} (commit ${first.commit}), but the runtime (node-llama-cpp) uses commit ` +
        `${expectedCommit.slice(0, 7)}: files quantized with newer tools may not load in the runtime`,
    );
  }
  const tools = Object.fromEntries(probes.map((p) => [p.tool, p.path])) as Record<LlamaToolName, string>;
  return { release: first?.release ?? 'unknown', commit: first?.commit ?? null, source: 'bin-dir', binDir, tools, flavour: null, warnings };
}

async function filesStamp(files: string[]): Promise<string> {
  const stats = await Promise.all(
    files.map((f) =>
      stat(f).then(
        (s) => `${s.size}:${s.mtimeMs}`,
        () => '-',
      ),
    ),
  );
  return stats.join('|');
}
