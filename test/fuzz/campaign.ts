/**
 * The fuzz campaign: seeded mutants of each format (config.json, safetensors, GGUF, manifest.json)
 * run through the commands that read it (detect, plan, convert, verify, run), each in a supervised
 * child process, and every run judged by the same invariants: exit 0 (the file was still valid) or
 * exit 3/4 with a message; never another exit code, a stack trace, a crash or native abort, a run
 * past its time bound, or resident memory past its bound. A successful convert's output is run
 * too: whatever the converter writes must load or be refused cleanly.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadGgufSeed, mutateGguf } from './mutate-gguf';
import { mutateConfig, mutateManifest } from './mutate-json';
import { loadSafetensorsSeed, mutateSafetensors } from './mutate-safetensors';
import { FuzzRng } from './random';
import { buildSeeds, type Seeds } from './seeds';
import { CliSupervisor, type Outcome } from './supervisor';
import { sha256 } from '../fixtures/manifest';

export const FORMATS = ['config.json', 'safetensors', 'gguf', 'manifest'] as const;
export type Format = (typeof FORMATS)[number];
export const COMMANDS = ['detect', 'plan', 'convert', 'verify', 'run'] as const;
export type Command = (typeof COMMANDS)[number];

/** Mutants per format at scale 1 (the `npm test` run). */
export const BASE_MUTANTS: Record<Format, number> = { 'config.json': 40, safetensors: 40, gguf: 100, manifest: 60 };
export const TIME_BOUND_MS: Record<Command, number> = { detect: 30_000, plan: 30_000, verify: 30_000, convert: 60_000, run: 60_000 };
export const MAX_RSS_BYTES = 1536 * 1024 * 1024;

export interface Tally {
  runs: number;
  exit0: number;
  exit3: number;
  exit4: number;
  violations: number;
}

export interface Violation {
  format: Format;
  command: Command;
  mutant: string;
  argv: string[];
  problem: string;
  /** A copy of the mutant's folder, to reproduce with. */
  kept: string | null;
}

export interface FuzzReport {
  seed: number;
  scale: number;
  mutants: Record<Format, number>;
  tally: Record<Format, Partial<Record<Command, Tally>>>;
  violations: Violation[];
  maxPeakRssBytes: number;
  slowestMs: number;
  slowestArgv: string[];
  seconds: number;
}

export interface FuzzOptions {
  seed: number;
  scale: number;
  workDir: string;
  /** Where folders of violating mutants are copied (none when null). */
  keepDir: string | null;
  log: (line: string) => void;
}

const RUN_ARGS = ['-p', 'Once upon a time', '--max-tokens', '2', '--temperature', '0', '--context-size', '64', '--json'];
const STACK_TRACE = /^\s+at .+(:\d+:\d+\)?|\(native\))$/m;

/** The invariant every run must keep; null when it did. */
export function judge(command: Command, o: Outcome, boundMs: number): string | null {
  if (o.kind === 'crash') return `the process died (${o.detail}): ${o.nativeStderr.slice(-600)}`;
  if (o.kind === 'hang') return `still running after ${o.ms} ms (bound ${boundMs} ms)`;
  if (o.kind === 'memory') return `resident memory reached ${(o.rssBytes / 2 ** 20).toFixed(0)} MiB (bound ${MAX_RSS_BYTES / 2 ** 20} MiB)`;
  if (STACK_TRACE.test(o.stderr) || /internal error|UNCAUGHT/.test(o.stderr)) return `a stack trace: ${o.stderr.slice(-800)}`;
  if (o.code === 0) return null;
  if (o.code !== 3 && o.code !== 4) return `exit ${o.code} (expected 0, 3 or 4): ${o.stderr.slice(-600)}`;
  if (!o.stderr.includes(`pajamas ${command}: `)) return `exit ${o.code} without a message: ${o.stderr.slice(-300)}`;
  return null;
}

class Campaign {
  readonly tally: FuzzReport['tally'] = { 'config.json': {}, safetensors: {}, gguf: {}, manifest: {} };
  readonly violations: Violation[] = [];
  maxPeak = 0;
  slowest = 0;
  slowestArgv: string[] = [];

  constructor(
    private readonly sup: CliSupervisor,
    private readonly opts: FuzzOptions,
  ) {}

  /** Runs one command on a mutant and records the outcome; returns the exit code (or null). */
  async exec(format: Format, command: Command, args: string[], mutant: string, dir: string): Promise<number | null> {
    const argv = [command, ...args];
    const outcome = await this.sup.run(argv, TIME_BOUND_MS[command]);
    const t = (this.tally[format][command] ??= { runs: 0, exit0: 0, exit3: 0, exit4: 0, violations: 0 });
    t.runs++;
    const problem = judge(command, outcome, TIME_BOUND_MS[command]);
    if (outcome.kind === 'exit') {
      if (outcome.code === 0) t.exit0++;
      else if (outcome.code === 3) t.exit3++;
      else if (outcome.code === 4) t.exit4++;
      this.maxPeak = Math.max(this.maxPeak, outcome.peakRssBytes ?? 0);
      if (outcome.ms > this.slowest) [this.slowest, this.slowestArgv] = [outcome.ms, argv];
    }
    if (problem) {
      t.violations++;
      const kept = this.keep(dir);
      this.violations.push({ format, command, mutant, argv, problem, kept });
      this.opts.log(`VIOLATION ${format} ${command} [${mutant}]: ${problem.slice(0, 300)}`);
    }
    return outcome.kind === 'exit' ? outcome.code : null;
  }

  /** Records a violation found by looking at several runs together. */
  flag(format: Format, command: Command, mutant: string, argv: string[], dir: string, problem: string): void {
    const t = this.tally[format][command];
    if (t) t.violations++;
    this.violations.push({ format, command, mutant, argv, problem, kept: this.keep(dir) });
    this.opts.log(`VIOLATION ${format} ${command} [${mutant}]: ${problem}`);
  }

  private keep(dir: string): string | null {
    if (!this.opts.keepDir) return null;
    const dest = path.join(this.opts.keepDir, `violation-${this.violations.length}`);
    mkdirSync(this.opts.keepDir, { recursive: true });
    cpSync(dir, dest, { recursive: true, verbatimSymlinks: true });
    return dest;
  }
}

export async function runFuzzCampaign(opts: FuzzOptions): Promise<FuzzReport> {
  const started = Date.now();
  mkdirSync(opts.workDir, { recursive: true });
  const seeds = await buildSeeds(path.join(opts.workDir, 'seeds'));
  const env = { ...process.env, PAJAMAS_CACHE_DIR: path.join(opts.workDir, 'cache'), UV_THREADPOOL_SIZE: '2', PAJAMAS_DEBUG: '' };
  const sup = new CliSupervisor({ env, maxRssBytes: MAX_RSS_BYTES, maxOldSpaceMb: 1024 });
  const c = new Campaign(sup, opts);
  const rng = new FuzzRng(opts.seed);
  const mutants = Object.fromEntries(FORMATS.map((f) => [f, Math.round(BASE_MUTANTS[f] * opts.scale)])) as Record<Format, number>;
  try {
    for (const format of FORMATS) {
      for (let i = 0; i < mutants[format]; i++) {
        const dir = path.join(opts.workDir, 'mutants', `${format}-${i}`);
        mkdirSync(dir, { recursive: true });
        await runMutant(c, format, rng, seeds, dir);
        rmSync(dir, { recursive: true, force: true });
      }
      opts.log(`${format}: ${mutants[format]} mutants, ${c.violations.length} violation(s) so far`);
    }
  } finally {
    await sup.close();
  }
  for (const d of sup.lateDeaths) {
    c.violations.push({
      format: 'gguf',
      command: 'run',
      mutant: 'after a command',
      argv: d.argv,
      problem: `died after the command: ${d.detail}`,
      kept: null,
    });
  }
  return {
    seed: opts.seed,
    scale: opts.scale,
    mutants,
    tally: c.tally,
    violations: c.violations,
    maxPeakRssBytes: c.maxPeak,
    slowestMs: c.slowest,
    slowestArgv: c.slowestArgv,
    seconds: (Date.now() - started) / 1000,
  };
}

async function runMutant(c: Campaign, format: Format, rng: FuzzRng, seeds: Seeds, dir: string): Promise<void> {
  if (format === 'config.json' || format === 'safetensors') {
    const hf = seeds.hf[rng.pick(['dense', 'moe'] as const)];
    cpSync(hf, dir, { recursive: true });
    let what: string;
    if (format === 'config.json') {
      const m = mutateConfig(readFileSync(path.join(hf, 'config.json'), 'utf8'), rng);
      writeFileSync(path.join(dir, 'config.json'), m.text);
      what = m.what;
    } else {
      const m = mutateSafetensors(loadSafetensorsSeed(readFileSync(path.join(hf, 'model.safetensors'))), rng);
      writeFileSync(path.join(dir, 'model.safetensors'), m.bytes);
      what = m.what;
    }
    await c.exec(format, 'detect', [dir, '--json'], what, dir);
    await c.exec(format, 'plan', [dir, '--json'], what, dir);
    const out = path.join(dir, 'converted.gguf');
    const code = await c.exec(format, 'convert', [dir, '-o', out], what, dir);
    if (code === 0 && existsSync(out)) {
      // What the converter writes must load: a refusal here means convert let a bad value through.
      const ran = await c.exec(format, 'run', [out, ...RUN_ARGS], `${what}, converted`, dir);
      if (ran !== null && ran !== 0)
        c.flag(format, 'convert', what, [out], dir, `convert exited 0 but its output does not run (exit ${ran})`);
    }
    return;
  }
  if (format === 'gguf') {
    const seed = await ggufSeed(seeds.gguf[rng.pick(['dense', 'moe'] as const)]);
    const m = mutateGguf(seed, rng);
    const file = path.join(dir, 'mutant.gguf');
    writeFileSync(file, m.bytes);
    await c.exec(format, 'detect', [file, '--json'], m.what, dir);
    await c.exec(format, 'plan', [file, '--json'], m.what, dir);
    await c.exec(format, 'run', [file, ...RUN_ARGS], m.what, dir);
    return;
  }
  cpSync(seeds.manifestDir, dir, { recursive: true });
  const manifestFile = path.join(dir, 'manifest.json');
  let what: string;
  if (rng.chance(0.25)) {
    // The artifact itself is damaged, and the manifest records the damaged bytes: verify passes, run must not abort.
    const m = mutateGguf(await ggufSeed(seeds.gguf.dense), rng);
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { artifacts: { path: string; sizeBytes: number; sha256: string }[] };
    writeFileSync(path.join(dir, manifest.artifacts[0]!.path), m.bytes);
    Object.assign(manifest.artifacts[0]!, { sizeBytes: m.bytes.length, sha256: sha256(m.bytes) });
    writeFileSync(manifestFile, JSON.stringify(manifest));
    what = `artifact recorded as it is: ${m.what}`;
  } else {
    const m = mutateManifest(readFileSync(manifestFile, 'utf8'), rng);
    writeFileSync(manifestFile, m.text);
    m.setup?.(dir);
    what = m.what;
  }
  await c.exec('manifest', 'verify', [dir], what, dir);
  await c.exec('manifest', 'run', [dir, ...RUN_ARGS], what, dir);
}

const ggufSeeds = new Map<string, ReturnType<typeof loadGgufSeed>>();
function ggufSeed(file: string): ReturnType<typeof loadGgufSeed> {
  let seed = ggufSeeds.get(file);
  if (!seed) ggufSeeds.set(file, (seed = loadGgufSeed(file)));
  return seed;
}

/** The README's table: mutants and runs per format and command, with exit codes. */
export function formatReport(r: FuzzReport): string {
  const rows = [`| format | mutants | command | runs | exit 0 | exit 3 | exit 4 | violations |`, `|---|---:|---|---:|---:|---:|---:|---:|`];
  for (const format of FORMATS) {
    for (const command of COMMANDS) {
      const t = r.tally[format][command];
      if (!t) continue;
      rows.push(`| ${format} | ${r.mutants[format]} | ${command} | ${t.runs} | ${t.exit0} | ${t.exit3} | ${t.exit4} | ${t.violations} |`);
    }
  }
  return rows.join('\n');
}
