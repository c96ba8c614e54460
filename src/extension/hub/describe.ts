/**
 * How the Hub picker words a search result and a fit check. No vscode import: unit-tested.
 */
import { formatBytes } from '../../core/units';
import type { HubModelFit, HubSearchResult } from '../../protocol/hub';

/** 1234 -> "1.2k", 5_600_000 -> "5.6M". */
export function formatCount(n: number): string {
  if (n < 1000) return String(n);
  const [value, unit] = n < 1e6 ? [n / 1e3, 'k'] : n < 1e9 ? [n / 1e6, 'M'] : [n / 1e9, 'B'];
  return `${value < 10 ? value.toFixed(1).replace(/\.0$/, '') : Math.round(value)}${unit}`;
}

/** "$(cloud-download) 1.2k · $(heart) 40 · safetensors · gated (a token is needed)" */
export function describeSearchResult(r: HubSearchResult): string {
  const parts = [`$(cloud-download) ${formatCount(r.downloads)}`, `$(heart) ${formatCount(r.likes)}`];
  const formats = [r.safetensors ? 'safetensors' : null, r.gguf ? 'GGUF' : null].filter(Boolean);
  if (formats.length) parts.push(formats.join(', '));
  if (r.gated || r.private) parts.push(`${r.private ? 'private' : 'gated'} (a token is needed)`);
  return parts.join(' · ');
}

/**
 * "270 MB to download (1 file cached) · fits: disk 1.3 GB of 50 GB free, memory 0.8 GB of 16 GB";
 * `fits` is false when the disk or the memory falls short.
 */
export function describeFit(fit: HubModelFit): { fits: boolean; summary: string } {
  const download =
    fit.downloadBytes === 0
      ? `${formatBytes(fit.totalBytes)}, all cached`
      : fit.downloadBytes < fit.totalBytes
        ? `${formatBytes(fit.downloadBytes)} of ${formatBytes(fit.totalBytes)} to download`
        : `${formatBytes(fit.totalBytes)} to download`;
  const disk = `disk ${formatBytes(fit.disk.neededBytes)} needed, ${formatBytes(fit.disk.freeBytes)} free`;
  const ram = `memory ${formatBytes(fit.ram.neededBytes)} needed, ${formatBytes(fit.ram.totalBytes)} in this machine`;
  const fits = fit.disk.fits && fit.ram.fits;
  const verdict = fits
    ? 'fits this machine for quantizing'
    : `does not fit this machine for quantizing (${[
        !fit.disk.fits ? `not enough disk at ${fit.disk.where}` : null,
        !fit.ram.fits ? 'not enough memory' : null,
      ]
        .filter(Boolean)
        .join(', ')})`;
  return { fits, summary: `${download} · ${verdict}: ${disk}; ${ram}` };
}
