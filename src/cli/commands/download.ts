/**
 * `pajamas download <org/name>[@revision]`: the files a conversion needs, into the Hugging Face
 * cache shared with Python tools (HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub).
 * HF_TOKEN and HF_ENDPOINT are honoured; an interrupted download resumes on the next run.
 */
import { downloadHubModel } from '../../core/hf/hub-download';
import { formatBytes } from '../../core/units';
import { onePositional, parseArgs } from '../args';
import type { Command } from '../command';
import type { CliIo } from '../io';

const options = {
  include: {
    type: 'string',
    value: '<globs>',
    description: 'comma-separated extra files by glob, e.g. "*Q4_K_M.gguf" or "original/params.json" (* stays in a folder, ** crosses)',
  },
  json: { type: 'boolean', description: 'print one JSON document: {"repoId", "revision", "commit", "path", "files", ...}' },
} as const;

export const downloadCommand: Command = {
  name: 'download',
  summary: 'Download a model from the Hugging Face Hub into the shared HF cache (what a conversion needs)',
  usage: '<org/name>[@revision] [--include <globs>] [--json]',
  options,
  async run(argv: string[], io: CliIo): Promise<number> {
    const { options: o, positionals } = parseArgs(argv, options);
    const include = (o.include ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const snapshot = await downloadHubModel(onePositional(positionals, '<org/name>'), { ...io.job(), include });
    if (o.json) {
      io.json(snapshot);
      return 0;
    }
    const fetched =
      snapshot.origin === 'cache' ? 'from the cache (the Hub was not reached)' : `${formatBytes(snapshot.downloadedBytes)} downloaded`;
    io.out(
      `${snapshot.repoId}@${snapshot.revision} = ${snapshot.commit}: ` +
        `${snapshot.files.length} files, ${formatBytes(snapshot.totalBytes)}; ${fetched}`,
    );
    io.out(snapshot.path);
    return 0;
  },
};
