/**
 * The fuzz campaign from the command line (`npm run fuzz -- --scale 10 --seed 7`), for runs longer
 * than `npm test` makes: prints the per-format table and every violation, keeps the violating
 * mutants under test-output/fuzz-failures, writes the report as JSON with --json <file>, and exits
 * 1 when any run broke an invariant. Needs a build (dist/cli.js).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { formatReport, runFuzzCampaign } from './campaign';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { seed: { type: 'string', default: '1' }, scale: { type: 'string', default: '10' }, json: { type: 'string' } },
  });
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'pajamas-fuzz-'));
  try {
    const report = await runFuzzCampaign({
      seed: Number(values.seed),
      scale: Number(values.scale),
      workDir,
      keepDir: path.resolve(__dirname, '..', '..', 'test-output', 'fuzz-failures'),
      log: (line) => process.stderr.write(`${line}\n`),
    });
    process.stdout.write(`${formatReport(report)}\n`);
    process.stdout.write(
      `seed ${report.seed}, scale ${report.scale}: ${report.violations.length} violation(s) in ${report.seconds.toFixed(0)} s; ` +
        `peak RSS ${(report.maxPeakRssBytes / 2 ** 20).toFixed(0)} MiB, slowest run ${(report.slowestMs / 1000).toFixed(1)} ` +
        `s (${report.slowestArgv.slice(0, 2).join(' ')})\n`,
    );
    for (const v of report.violations) process.stdout.write(`- ${v.format} ${v.command} [${v.mutant}] ${v.problem}\n  kept: ${v.kept}\n`);
    if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2));
    return report.violations.length ? 1 : 0;
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
