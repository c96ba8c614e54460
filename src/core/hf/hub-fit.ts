/**
 * Before a Hub model is added: how much it downloads, and whether this machine has the disk and
 * the memory to quantize it. Reads the repo's listing and config.json (and its safetensors index,
 * in memory); writes nothing.
 */
import { downloadFile } from '@huggingface/hub';
import { stat, statfs } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { detectFromConfig } from '../arch/from-config';
import { DISK_HEADROOM_FRACTION } from '../pipeline/disk';
import { blobName } from './blob-download';
import { repoCachePath } from './cache';
import { fetchHubConfig } from './hub-model';
import { createHubClient, hubFailure, listRepoFiles, resolveCommit, type HubClient } from './hub-client';
import { findIndexFile, selectConversionFiles, shardsFromIndex } from './hub-files';
import type { HubAccess } from './hub-access';
import { formatHubRef, parseHubRef, type HubRef } from './repo-ref';

/** Bytes per parameter of the F16 intermediate every quantization starts from. */
const F16_BYTES_PER_PARAM = 2;
/** A Q4_K_M GGUF and a 4-bit MLX folder, each about 4.5-4.9 bits per weight: ~0.6 bytes per parameter each. */
const OUTPUT_BYTES_PER_PARAM = 1.2;
/** The F16 baseline's evaluation holds the whole F16 model in memory, plus the context and buffers. */
const RAM_OVERHEAD_BYTES = 512 * 1024 * 1024;

export interface HubModelFit {
  repoId: string;
  revision: string;
  commit: string;
  parameters: number;
  files: number;
  /** What a conversion needs of the repo, and what of it is not cached yet. */
  totalBytes: number;
  downloadBytes: number;
  disk: { neededBytes: number; freeBytes: number; fits: boolean; where: string };
  ram: { neededBytes: number; totalBytes: number; fits: boolean };
}

export interface HubFitOptions {
  hub?: HubAccess;
  signal?: AbortSignal;
  /** Where the artifacts will go (default: the current folder). */
  outDir?: string;
}

export async function checkHubModelFit(input: string, opts: HubFitOptions = {}): Promise<HubModelFit> {
  const ref = parseHubRef(input);
  const client = createHubClient(opts.hub, opts.signal);
  const commit = await resolveCommit(client, ref);
  const listing = await listRepoFiles(client, ref, commit);
  const index = findIndexFile(listing);
  const shards = index ? shardsFromIndex(await readRepoText(client, ref, commit, index.path), ref.repoId) : null;
  const selected = selectConversionFiles(ref.repoId, listing, shards);
  const repoDir = repoCachePath(ref.repoId, client.access.cacheDir);
  let downloadBytes = 0;
  for (const f of selected) {
    const cached = await stat(path.join(repoDir, 'blobs', blobName(f))).catch(() => null);
    if (cached?.size !== f.sizeBytes) downloadBytes += f.sizeBytes;
  }
  const arch = detectFromConfig(await fetchHubConfig(`${ref.repoId}@${commit}`, opts), formatHubRef(ref));
  const parameters = arch.parameters.total;
  const outputBytes = Math.ceil(parameters * (F16_BYTES_PER_PARAM + OUTPUT_BYTES_PER_PARAM));
  const disk = await diskFit(client.access.cacheDir, downloadBytes, path.resolve(opts.outDir ?? '.'), outputBytes);
  const ramNeeded = parameters * F16_BYTES_PER_PARAM + RAM_OVERHEAD_BYTES;
  return {
    repoId: ref.repoId,
    revision: ref.revision,
    commit,
    parameters,
    files: selected.length,
    totalBytes: selected.reduce((n, f) => n + f.sizeBytes, 0),
    downloadBytes,
    disk,
    ram: { neededBytes: ramNeeded, totalBytes: os.totalmem(), fits: ramNeeded <= os.totalmem() },
  };
}

async function readRepoText(client: HubClient, ref: HubRef, commit: string, file: string): Promise<string> {
  try {
    const blob = await downloadFile({ ...client.libraryParams, repo: ref.repoId, path: file, revision: commit, xet: false });
    return blob ? await blob.text() : '';
  } catch (error) {
    throw hubFailure(client, error, ref, 'read', file);
  }
}

/** Download and outputs on one disk or two: each disk must hold its share, with headroom. */
async function diskFit(cacheDir: string, downloadBytes: number, outDir: string, outputBytes: number): Promise<HubModelFit['disk']> {
  const cacheProbe = await existingAncestor(cacheDir);
  const outProbe = await existingAncestor(outDir);
  const sameDisk = (await stat(cacheProbe)).dev === (await stat(outProbe)).dev;
  const free = async (dir: string) => {
    const s = await statfs(dir);
    return Number(s.bavail) * Number(s.bsize);
  };
  const withHeadroom = (bytes: number) => Math.ceil(bytes * (1 + DISK_HEADROOM_FRACTION));
  if (sameDisk) {
    const neededBytes = withHeadroom(downloadBytes + outputBytes);
    const freeBytes = await free(outProbe);
    return { neededBytes, freeBytes, fits: freeBytes >= neededBytes, where: outDir };
  }
  const [cacheFree, outFree] = await Promise.all([free(cacheProbe), free(outProbe)]);
  const cacheShort = withHeadroom(downloadBytes) - cacheFree;
  const outShort = withHeadroom(outputBytes) - outFree;
  // Report the disk that is shorter of space (the output's when both fit).
  return cacheShort > outShort
    ? { neededBytes: withHeadroom(downloadBytes), freeBytes: cacheFree, fits: cacheShort <= 0 && outShort <= 0, where: cacheDir }
    : { neededBytes: withHeadroom(outputBytes), freeBytes: outFree, fits: cacheShort <= 0 && outShort <= 0, where: outDir };
}

async function existingAncestor(dir: string): Promise<string> {
  let current = path.resolve(dir);
  while (!(await stat(current).catch(() => null))) {
    const parent = path.dirname(current);
    if (parent === current) break;
    current = parent;
  }
  return current;
}
