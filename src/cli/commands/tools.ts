/**
 * `pajamas tools`: which llama.cpp tools Llama-Pajamas uses (release and path of each), and
 * `--build` to build them from node-llama-cpp's bundled source (once per machine; `npm run
 * build:llama` runs it), together with the runtime's node-llama-cpp binding from the same source.
 * Without --build it never builds: it says how.
 */
import { parseArgs } from '../args';
import type { Command } from '../command';
import type { CliIo } from '../io';
import { asPajamasError } from '../../core/errors';
import { LLAMA_TOOLS, type LlamaTools, ensureLlamaTools, llamaToolsStatus, type LlamaToolsStatus } from '../../core/llamacpp';
import {
  type BindingBuildOptions,
  type LocalBindingStatus,
  buildLlamaBinding,
  localBindingStatus,
} from '../../core/llamacpp/binding-build';

const options = {
  build: { type: 'boolean', description: 'build the tools into the cache if they are not built yet' },
  rebuild: { type: 'boolean', description: 'build them again even if the cache holds a complete build' },
  wait: { type: 'boolean', default: true, description: 'wait when another process is building them (--no-wait: fail at once)' },
  binding: {
    type: 'boolean',
    default: true,
    description: "with --build, also build the runtime's binding (--no-binding: the tools only, as a VSIX ships them)",
  },
  'llama-bin-dir': {
    option: 'llamaBinDir',
    type: 'string',
    value: '<dir>',
    description: 'use llama.cpp binaries from this directory (default: PAJAMAS_LLAMA_BIN_DIR)',
  },
  json: { type: 'boolean', description: 'print one JSON document: {"release", "tools": {name: path}, ...}' },
} as const;

export const toolsCommand: Command = {
  name: 'tools',
  summary: "Show (and build) the llama.cpp tools (release and path of each) and the runtime's binding",
  usage: '[--build] [--rebuild] [--no-wait] [--no-binding] [--llama-bin-dir <dir>] [--json]',
  options,
  async run(argv: string[], io: CliIo): Promise<number> {
    const { options: o } = parseArgs(argv, options);
    const toolsOptions = { ...io.job(), binDir: o['llama-bin-dir'] };
    let status: LlamaToolsStatus;
    let binding: LocalBindingStatus;
    if (o.build || o.rebuild) {
      const tools = await ensureLlamaTools({ ...toolsOptions, build: o.rebuild ? 'force' : 'auto', wait: o.wait });
      if (tools.source === 'bin-dir') io.log(`using the binaries in ${tools.binDir}; nothing to build`);
      status = { available: true, tools };
      // The binding compiles the cache's source tree; user-provided binaries come without one.
      binding =
        tools.source === 'cache' && o.binding
          ? await buildBinding({ ...toolsOptions, force: Boolean(o.rebuild), wait: o.wait }, io)
          : await localBindingStatus();
    } else {
      status = await llamaToolsStatus(toolsOptions);
      binding = await localBindingStatus();
    }
    if (status.available) for (const w of status.tools.warnings) io.log(`warning: ${w}`);
    if (o.json) io.json({ ...toJson(status), binding });
    else io.out(`${formatStatus(status)}\n${formatBinding(binding)}`);
    return 0;
  },
};

/**
 * The runtime's binding (node-llama-cpp's, built from the same source with the same flags) goes
 * with the tools: run and chat use it when it is there. A failure here does not fail the tools.
 */
async function buildBinding(opts: BindingBuildOptions, io: CliIo): Promise<LocalBindingStatus> {
  if (process.platform === 'win32') return localBindingStatus();
  try {
    const built = await buildLlamaBinding(opts);
    return { ready: true, path: built.path, gpu: built.gpu };
  } catch (error) {
    const e = asPajamasError(error);
    if (e.code === 'cancelled') throw e;
    io.log(`warning: the node-llama-cpp binding was not built (${e.message}); run and chat use node-llama-cpp's prebuilt one`);
    return { ready: false, reason: e.message };
  }
}

function formatBinding(b: LocalBindingStatus): string {
  return b.ready
    ? `runtime binding (built from the same source${b.gpu ? `, ${b.gpu}` : ''}): ${b.path}`
    : `runtime binding: node-llama-cpp's prebuilt (${b.reason})`;
}

function toJson(status: LlamaToolsStatus): Record<string, unknown> {
  if (status.available) {
    const t: LlamaTools = status.tools;
    return {
      release: t.release,
      tools: t.tools,
      built: true,
      commit: t.commit,
      source: t.source,
      binDir: t.binDir,
      flavour: t.flavour,
      warnings: t.warnings,
    };
  }
  const tools = Object.fromEntries(LLAMA_TOOLS.map((name) => [name, null]));
  return {
    release: status.release,
    tools,
    built: false,
    commit: status.commit,
    source: 'cache',
    binDir: null,
    flavour: status.flavour,
    reason: status.reason,
  };
}

export function formatStatus(status: LlamaToolsStatus): string {
  const width = Math.max(...LLAMA_TOOLS.map((n) => n.length)) + 2;
  if (!status.available) {
    return [
      `llama.cpp ${status.release} (commit ${status.commit.slice(0, 7)}): not built; run pajamas tools --build`,
      `  ${status.reason}`,
      ...LLAMA_TOOLS.map((name) => `  ${name.padEnd(width)}not built`),
    ].join('\n');
  }
  const t = status.tools;
  const from = t.source === 'cache' ? `${t.flavour} build, cache` : 'user-provided';
  return [
    `llama.cpp ${t.release} (commit ${t.commit?.slice(0, 7) ?? 'unknown'}, ${from})`,
    ...LLAMA_TOOLS.map((name) => `  ${name.padEnd(width)}${t.tools[name]}`),
  ].join('\n');
}
