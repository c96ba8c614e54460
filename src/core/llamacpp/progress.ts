/**
 * Build progress from the build tool's own output. Ninja prints `[n/N] description` for every
 * edge when its output is not a terminal; make prints `[ 45%] description`.
 */

export interface BuildStep {
  done: number;
  total: number;
  /** What the build tool says it is doing, e.g. "Building CXX object src/llama-quant.cpp.o". */
  description: string;
}

const NINJA_LINE = /^\[(\d+)\/(\d+)\]\s*(.*)$/;
const MAKE_LINE = /^\[\s*(\d{1,3})%\]\s*(.*)$/;

/** Parses one line of ninja or make output; null for any other line (warnings, cmake chatter). */
export function parseBuildProgress(line: string): BuildStep | null {
  const text = line.replace(/\r$/, '');
  const ninja = NINJA_LINE.exec(text);
  if (ninja) {
    const done = Number(ninja[1]);
    const total = Number(ninja[2]);
    if (total <= 0 || done > total) return null;
    return { done, total, description: ninja[3]!.trim() };
  }
  const make = MAKE_LINE.exec(text);
  if (make) {
    const percent = Number(make[1]);
    if (percent > 100) return null;
    return { done: percent, total: 100, description: make[2]!.trim() };
  }
  return null;
}

/** Shortens "Building CXX object tools/quantize/CMakeFiles/llama-quantize.dir/quantize.cpp.o". */
export function shortStepDescription(description: string): string {
  const object = /^Building (?:C|CXX) object (.+)$/.exec(description);
  if (object) {
    const file = object[1]!
      .split('/')
      .pop()!
      .replace(/\.o(bj)?$/, '');
    return `compiling ${file}`;
  }
  const link = /^Linking (?:C|CXX) (?:executable|static library) (.+)$/.exec(description);
  if (link) return `linking ${link[1]!.split('/').pop()}`;
  return description;
}
