/** Shell scripts that stand in for llama.cpp tools and build tools in hermetic tests. */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { LLAMA_TOOLS, type LlamaToolName, type LlamaTools } from '../../../src/core/llamacpp/tools';

export const FAKE_COMMIT = '80fb11ac73e66d89eae2c6a91d8a77428fa733ed';

/** A temp directory removed after the test. */
export function tempDir(t: TestContext, prefix = 'pajamas-llamacpp-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function writeScript(file: string, body: string): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

/** A tool that behaves like a healthy llama.cpp build: --version prints the build line, --help a usage text. */
export function healthyTool(commit = FAKE_COMMIT.slice(0, 7)): string {
  return [
    'case "$1" in',
    `  --version) echo "version: 0.4.0-dev (build 1, commit ${commit})" >&2; echo "built with fake cc" >&2; exit 0 ;;`,
    '  --help) echo "usage: $0 [options]"; exit 1 ;;',
    'esac',
    'echo "args: $*"',
  ].join('\n');
}

/** A directory with all seven tools as healthy fakes; `overrides` replaces some scripts (null: leave it out). */
export function fakeBinDir(t: TestContext, overrides: Partial<Record<LlamaToolName, string | null>> = {}): string {
  const dir = tempDir(t, 'pajamas-bin-');
  for (const tool of LLAMA_TOOLS) {
    const body = overrides[tool] === undefined ? healthyTool() : overrides[tool];
    if (body !== null) writeScript(path.join(dir, tool), body);
  }
  return dir;
}

/** A LlamaTools value whose tools are the scripts in `dir`. */
export function toolsIn(dir: string): LlamaTools {
  const tools = Object.fromEntries(LLAMA_TOOLS.map((t) => [t, path.join(dir, t)])) as Record<LlamaToolName, string>;
  return { release: 'test', commit: null, source: 'bin-dir', binDir: dir, tools, flavour: null, warnings: [] };
}

/** True when `pid` is gone (or a zombie waiting to be reaped). */
export function isDead(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}
