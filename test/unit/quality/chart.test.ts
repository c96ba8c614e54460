/** The size/KLD chart: structure of the SVG (points, labels, axes with ticks, legend), escaping, scales. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ChartPoint, escapeXml, niceTicks, qualityChartSvg } from '../../../src/core/quality/chart';

const MiB = 1024 ** 2;
const POINTS: ChartPoint[] = [
  { label: 'Q4_K_M naive', sizeBytes: 120 * MiB, kldMean: 0.031, strategy: 'naive', imatrix: false },
  { label: 'Q4_K_M naive + imatrix', sizeBytes: 120 * MiB, kldMean: 0.027, strategy: 'naive', imatrix: true },
  { label: 'Q4_K_M pajamas', sizeBytes: 118 * MiB, kldMean: 0.019, strategy: 'pajamas', imatrix: false },
  { label: 'Q4_K_M pajamas + imatrix <&>', sizeBytes: 118 * MiB, kldMean: 0.015, strategy: 'pajamas', imatrix: true },
];

/** Every opened element is closed in order (a small well-formedness check, enough for generated SVG). */
function assertWellFormed(svg: string): void {
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    const [, closing, name, selfClosing] = m;
    if (selfClosing) continue;
    if (closing) assert.equal(stack.pop(), name, `closing </${name}>`);
    else stack.push(name!);
  }
  assert.deepEqual(stack, []);
}

const count = (svg: string, re: RegExp) => [...svg.matchAll(re)].length;

test('one labelled point per artifact, shaped by imatrix and coloured by strategy', () => {
  const svg = qualityChartSvg(POINTS);
  assertWellFormed(svg);
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.equal(count(svg, /<g class="artifact">/g), 4);
  assert.equal(count(svg, /<circle class="point"/g), 2, 'circles: without imatrix');
  assert.equal(count(svg, /<path class="point"/g), 2, 'diamonds: with imatrix');
  const labels = [...svg.matchAll(/<text class="label"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
  assert.deepEqual(labels, ['Q4_K_M naive', 'Q4_K_M naive + imatrix', 'Q4_K_M pajamas', 'Q4_K_M pajamas + imatrix &lt;&amp;&gt;']);
  const colours = [...svg.matchAll(/class="point"[^>]*fill="(#[0-9a-f]{6})"/g)].map((m) => m[1]);
  assert.equal(colours[0], colours[1]);
  assert.equal(colours[2], colours[3]);
  assert.notEqual(colours[0], colours[2]);
});

test('axes carry ticks and titles; the legend lists each strategy/imatrix series once', () => {
  const svg = qualityChartSvg(POINTS);
  const xAxis = /<g class="axis x-axis">([\s\S]*?)<\/g>\n<g class="axis y-axis">/.exec(svg)![1]!;
  assert.ok(count(xAxis, /<g class="tick">/g) >= 3);
  assert.match(xAxis, /file size \(MiB\)/);
  const yAxis = /<g class="axis y-axis">([\s\S]*?)<g class="artifact">/.exec(svg)![1]!;
  assert.ok(count(yAxis, /<g class="tick">/g) >= 3);
  assert.match(yAxis, /mean KL divergence vs F16/);
  assert.match(yAxis, />0<\/text>/, 'the KLD axis starts at 0');
  const legend = [...svg.matchAll(/<g class="legend-item">[\s\S]*?<text[^>]*>([^<]*)<\/text><\/g>/g)].map((m) => m[1]);
  assert.deepEqual(legend, ['naive', 'naive + imatrix', 'pajamas', 'pajamas + imatrix']);
});

test('points are placed by value: lower KLD is lower on the chart, larger files further right', () => {
  const svg = qualityChartSvg([
    { label: 'a', sizeBytes: 100 * MiB, kldMean: 0.01, strategy: 's', imatrix: false },
    { label: 'b', sizeBytes: 200 * MiB, kldMean: 0.04, strategy: 's', imatrix: false },
  ]);
  const [a, b] = [...svg.matchAll(/<circle class="point" cx="([\d.]+)" cy="([\d.]+)"/g)].map((m) => ({ x: Number(m[1]), y: Number(m[2]) }));
  assert.ok(a!.x < b!.x);
  assert.ok(a!.y > b!.y, 'SVG y grows downward: the smaller KLD has the larger y');
});

test('nice ticks cover the range in steps of 1, 2 or 5 times a power of ten', () => {
  assert.deepEqual(niceTicks(0, 0.033), [0, 0.01, 0.02, 0.03, 0.04]);
  assert.deepEqual(niceTicks(112, 126), [110, 115, 120, 125, 130]);
  assert.deepEqual(niceTicks(0, 0.0012), [0, 0.0005, 0.001, 0.0015]);
  assert.deepEqual(niceTicks(5, 5), [5, 6, 7, 8, 9, 10]);
});

test('no points gives a valid chart saying so; escaping covers XML specials', () => {
  const svg = qualityChartSvg([]);
  assertWellFormed(svg);
  assert.match(svg, /no evaluated artifacts/);
  assert.equal(escapeXml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;');
});

test('labels of artifacts at the same place do not print on top of each other', () => {
  const svg = qualityChartSvg([
    { label: 'naive', sizeBytes: 1000, kldMean: 0.002, strategy: 'naive', imatrix: false },
    { label: 'naive + imatrix', sizeBytes: 1000, kldMean: 0.002, strategy: 'naive', imatrix: true },
    { label: 'pajamas', sizeBytes: 1000, kldMean: 0.00199, strategy: 'pajamas', imatrix: false },
  ]);
  const ys = [...svg.matchAll(/<text class="label" x="[\d.]+" y="([\d.]+)"/g)].map((m) => Number(m[1])).sort((a, b) => a - b);
  assert.equal(ys.length, 3);
  for (let i = 1; i < ys.length; i++) assert.ok(ys[i]! - ys[i - 1]! >= 13, `labels ${ys[i - 1]} and ${ys[i]} are at least a line apart`);
});
