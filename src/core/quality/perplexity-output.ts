/**
 * Parsers for llama-perplexity's printed results (tools/perplexity/perplexity.cpp of the pinned
 * release). The tool prints data through llama.cpp's asynchronous logger: chunk values and the
 * KL-divergence tables go to stdout, the "Final estimate" line to stderr with a timestamp prefix.
 * Callers pass both streams joined; nothing here depends on which stream a line came from.
 *
 * Two facts shape these parsers. The tool exits 0 after most of its own errors (too few tokens,
 * a vocabulary mismatch, a malformed base file), so "no result" must be detected from the text.
 * And its logger is a background thread that the process does not wait for at exit, so the last
 * lines are sometimes lost: a missing result without an error line means "cut short", which the
 * runner answers by running the tool again.
 */

/** A number as llama.cpp prints it with %f/%lf: digits, or nan/inf when the model diverged. */
const NUM = String.raw`[-+]?(?:\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|nan|inf(?:inity)?)`;
/** "±" in UTF-8; "+/-" where the tool spells it out. */
const PM = String.raw`\s*(?:±|\+/-)\s*`;

/** Messages the tool logs when it gives up without a result (it still exits 0 after most of them). */
const TOOL_ERROR_PATTERNS: readonly RegExp[] = [
  /you need at least \d+ tokens/,
  /tokenizes to only \d+ tokens/,
  /there are only \d+ tokens/,
  /does not look like a file containing log-probabilities/,
  /has been computed with \d+, while the current context is/,
  /inconsistent vocabulary/,
  /failed reading (?:n_vocab|evaluation tokens|log-probs)/,
  /failed to open /,
  /failed to decode/,
  /unable to load model/,
  /failed to create context/,
  /failed to load model/,
  /Unexpected negative standard deviation/,
  /error: /i,
];

/** A percentage as a fraction, without the binary noise of dividing by 100 (98.148 -> 0.98148). */
export function percentToFraction(pct: number): number {
  return Number((pct / 100).toPrecision(12));
}

export function parseToolNumber(text: string): number {
  const t = text.trim().toLowerCase();
  if (t === 'nan' || t === '-nan' || t === '+nan') return Number.NaN;
  if (/^[-+]?inf(inity)?$/.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
  return Number(t);
}

/** Lines that report a failure of the tool itself, without timestamp prefixes. */
export function toolErrorLines(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = stripLogPrefix(raw);
    if (TOOL_ERROR_PATTERNS.some((p) => p.test(line))) out.push(line);
  }
  return out;
}

/** "0.01.528.208 I perplexity: ..." -> "perplexity: ..." (the logger's timestamp and level). */
export function stripLogPrefix(line: string): string {
  return line.replace(/^\s*\d+\.\d+\.\d+\.\d+\s+[IWED]\s+/, '').replace(/\r$/, '');
}

export interface PerplexityOutput {
  /** The final estimate, or null when the output ended before it. */
  ppl: number | null;
  /** Its standard error as the tool prints it, or null. */
  pplError: number | null;
  /** Running perplexity after each chunk ("[1]5.2,[2]5.1,..."), in chunk order. */
  chunks: number[];
  /** The tool's own error lines (see TOOL_ERROR_PATTERNS). */
  errors: string[];
}

export function parsePerplexityOutput(text: string): PerplexityOutput {
  const final = new RegExp(String.raw`Final estimate: PPL = (${NUM})${PM}(${NUM})`, 'i').exec(text);
  const chunks: number[] = [];
  const chunkRe = new RegExp(String.raw`\[(\d+)\](${NUM}),`, 'gi');
  for (const m of text.matchAll(chunkRe)) {
    const index = Number(m[1]) - 1;
    // Keep order by index: a value is only recorded when it extends the sequence.
    if (index === chunks.length) chunks.push(parseToolNumber(m[2]!));
  }
  return {
    ppl: final ? parseToolNumber(final[1]!) : null,
    pplError: final ? parseToolNumber(final[2]!) : null,
    chunks,
    errors: toolErrorLines(text),
  };
}

/** One row of the per-chunk table of a --kl-divergence run (running means over chunks 1..n). */
export interface KldChunkRow {
  chunk: number;
  ppl: number;
  lnPplRatio: number;
  kldMean: number;
  /** RMS of the probability change of the right token, as a fraction. */
  deltaPRms: number;
  /** Fraction of tokens whose most likely next token is the baseline's, 0..1. */
  sameTop: number;
}

/** The closing statistics of a --kl-divergence run (printed only when it scored >= 100 tokens). */
export interface KldStats {
  pplQ: number;
  pplQError: number;
  pplBase: number;
  pplBaseError: number;
  lnPplRatio: number;
  lnPplRatioError: number;
  /** PPL(Q)/PPL(base) as the tool computes it (exp of the mean log ratio). */
  pplRatio: number;
  pplRatioError: number;
  kldMean: number;
  kldMeanError: number;
  /** Percentiles of the per-token KL divergence: "99.0%" is kldP99. */
  kldMax: number;
  kldP999: number;
  kldP99: number;
  kldP95: number;
  kldP90: number;
  kldMedian: number;
  kldMin: number;
  deltaPRms: number;
  sameTop: number;
  sameTopError: number;
}

export interface KldOutput {
  rows: KldChunkRow[];
  /** null when the output ended before the statistics (cut short, or too few tokens). */
  stats: KldStats | null;
  errors: string[];
}

const ROW_RE = new RegExp(
  String.raw`^\s*(\d+)\s+(${NUM})${PM}${NUM}\s+(${NUM})${PM}${NUM}\s+(${NUM})${PM}${NUM}` +
    String.raw`\s+(${NUM})${PM}${NUM}\s*%\s+(${NUM})${PM}${NUM}\s*%\s*$`,
  'i',
);

export function parseKldOutput(text: string): KldOutput {
  const rows: KldChunkRow[] = [];
  for (const raw of text.split('\n')) {
    const m = ROW_RE.exec(stripLogPrefix(raw));
    if (!m) continue;
    const chunk = Number(m[1]);
    if (chunk !== rows.length + 1) continue;
    rows.push({
      chunk,
      ppl: parseToolNumber(m[2]!),
      lnPplRatio: parseToolNumber(m[3]!),
      kldMean: parseToolNumber(m[4]!),
      deltaPRms: percentToFraction(parseToolNumber(m[5]!)),
      sameTop: percentToFraction(parseToolNumber(m[6]!)),
    });
  }
  const clean = text.split('\n').map(stripLogPrefix).join('\n');
  return { rows, stats: parseKldStats(clean), errors: toolErrorLines(text) };
}

/** Value (and uncertainty) after a label such as "Mean PPL(Q)   :" or "99.0%   KLD:". */
function labelled(text: string, label: string, withError: boolean): [number, number] | null {
  const escaped = label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/ +/g, '\\s+');
  const re = new RegExp(String.raw`^\s*${escaped}\s*:\s*(${NUM})${withError ? String.raw`${PM}(${NUM})` : ''}`, 'im');
  const m = re.exec(text);
  if (!m) return null;
  return [parseToolNumber(m[1]!), withError ? parseToolNumber(m[2]!) : Number.NaN];
}

function parseKldStats(text: string): KldStats | null {
  const pplQ = labelled(text, 'Mean PPL(Q)', true);
  const pplBase = labelled(text, 'Mean PPL(base)', true);
  const lnRatio = labelled(text, 'Mean ln(PPL(Q)/PPL(base))', true);
  const ratio = labelled(text, 'Mean PPL(Q)/PPL(base)', true);
  const kld = labelled(text, 'Mean KLD', true);
  const pct = (p: string) => labelled(text, `${p}% KLD`, false)?.[0] ?? null;
  const max = labelled(text, 'Maximum KLD', false);
  const median = labelled(text, 'Median KLD', false);
  const min = labelled(text, 'Minimum KLD', false);
  const rms = labelled(text, 'RMS Δp', true);
  // "Same top p:" ends the statistics: if it is missing the output was cut short.
  const same = labelled(text, 'Same top p', true);
  const p999 = pct('99.9');
  const p99 = pct('99.0');
  const p95 = pct('95.0');
  const p90 = pct('90.0');
  if (!pplQ || !pplBase || !lnRatio || !ratio || !kld || !max || !median || !min || !same) return null;
  if (p999 === null || p99 === null || p95 === null || p90 === null) return null;
  return {
    pplQ: pplQ[0],
    pplQError: pplQ[1],
    pplBase: pplBase[0],
    pplBaseError: pplBase[1],
    lnPplRatio: lnRatio[0],
    lnPplRatioError: lnRatio[1],
    pplRatio: ratio[0],
    pplRatioError: ratio[1],
    kldMean: kld[0],
    kldMeanError: kld[1],
    kldMax: max[0],
    kldP999: p999,
    kldP99: p99,
    kldP95: p95,
    kldP90: p90,
    kldMedian: median[0],
    kldMin: min[0],
    deltaPRms: rms ? percentToFraction(rms[0]) : Number.NaN,
    sameTop: percentToFraction(same[0]),
    sameTopError: percentToFraction(same[1]),
  };
}
