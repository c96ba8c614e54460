/** Number formats of the webviews (the view imports no runtime code from the extension). */

export function formatBytes(bytes: number): string {
  const sign = bytes < 0 ? '-' : '';
  let value = Math.abs(bytes);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return `${sign}${value.toFixed(i === 0 ? 0 : 2)} ${units[i]}`;
}

export function formatCount(n: number): string {
  const units: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'B'],
    [1e6, 'M'],
    [1e3, 'K'],
  ];
  for (const [scale, suffix] of units) if (n >= scale) return `${(n / scale).toFixed(n / scale >= 100 ? 0 : 1)}${suffix}`;
  return String(n);
}

export function formatPercent(fraction: number, digits = 1): string {
  return `${fraction >= 0 ? '+' : ''}${(fraction * 100).toFixed(digits)}%`;
}

export function formatNumber(v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return Number(v.toPrecision(digits)).toString();
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}
