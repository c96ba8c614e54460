/** `pajamas verify <manifest>`: schema check, then every listed file's size and SHA-256. */
import { FormatError } from '../../core/errors';
import { verifyManifest } from '../../core/manifest/verify';
import { onePositional, parseArgs } from '../args';
import type { Command } from '../command';
import type { CliIo } from '../io';

const options = {
  json: { type: 'boolean', description: 'print one JSON document: {"manifest", "filesChecked", "ok", "problems"}' },
} as const;

export const verifyCommand: Command = {
  name: 'verify',
  summary: "Check a manifest against its schema and re-check every artifact's size and sha256",
  usage: '<manifest.json|folder> [--json]',
  options,
  async run(argv: string[], io: CliIo): Promise<number> {
    const { options: o, positionals } = parseArgs(argv, options);
    const report = await verifyManifest(onePositional(positionals, '<manifest.json|folder>'), io.job());
    const ok = report.problems.length === 0;
    if (o.json) {
      io.json({ manifest: report.manifestPath, filesChecked: report.filesChecked, ok, problems: report.problems });
    } else {
      for (const p of report.problems) io.out(`FAIL ${p.subject}: ${p.file}: ${p.message}`);
      io.out(
        `${report.manifestPath}: ${report.filesChecked} file(s) checked, ${ok ? 'all match' : `${report.problems.length} problem(s)`}`,
      );
    }
    if (!ok) throw new FormatError(`${report.problems.length} artifact file(s) do not match the manifest`, { path: report.manifestPath });
    return 0;
  },
};
