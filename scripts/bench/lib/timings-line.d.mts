// Types for timings-line.mjs (imported by test/unit/pipeline/timings.test.ts).
export interface ParsedTimings {
  total: number;
  convert: number;
  tools: number;
  mlx: number;
  evaluate: number;
  other: number;
  toolRuns: { step: string; seconds: number }[];
}
export function parseTimingsLine(line: string): ParsedTimings | null;
