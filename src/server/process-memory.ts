/**
 * Resident memory of a process and its descendants: the worker, and whatever runs models for it
 * (a model host, the MLX server). On Linux from /proc (VmRSS of each process, children from
 * /proc/<pid>/task/<tid>/children); elsewhere the worker's own RSS only, which is where GGUF
 * models live while node-llama-cpp runs in the worker.
 */
import { readFile, readdir } from 'node:fs/promises';

/** Descendants followed at most this deep (a process tree, not a graph: a guard against surprises). */
const MAX_DEPTH = 4;

async function vmRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

async function children(pid: number): Promise<number[]> {
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  const out: number[] = [];
  for (const tid of tasks) {
    const text = await readFile(`/proc/${pid}/task/${tid}/children`, 'utf8').catch(() => '');
    for (const c of text.trim().split(/\s+/)) if (c) out.push(Number(c));
  }
  return out;
}

async function treeRss(pid: number, depth: number): Promise<number> {
  const own = await vmRss(pid).catch(() => 0);
  if (depth >= MAX_DEPTH) return own;
  const sizes = await Promise.all((await children(pid)).map((c) => treeRss(c, depth + 1)));
  return own + sizes.reduce((a, b) => a + b, 0);
}

/** RSS in bytes of `pid` (default: this process) and every process below it. */
export async function processTreeRss(pid = process.pid): Promise<number> {
  if (process.platform !== 'linux') return pid === process.pid ? process.memoryUsage.rss() : 0;
  return treeRss(pid, 0);
}
