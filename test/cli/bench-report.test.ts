/**
 * The bench report's latency chart (issue 11, item 13): every y label in
 * one unit ("0 ms", not "0 µs" under labels in ms), and the last x label
 * anchored at its end so that it is not cut at the chart's right edge.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Histogram } from "../../src/cli/bench/histogram.ts";
import { axisUnit, latencyChart } from "../../src/cli/bench/report.ts";

function chartOf(values: number[]): string {
  const h = new Histogram();
  for (const v of values) h.record(v);
  return latencyChart(h);
}

const yLabels = (svg: string) => [...svg.matchAll(/text-anchor="end" dominant-baseline="middle">([^<]*)</g)].map((m) => m[1] as string);
const xLabels = (svg: string) => [...svg.matchAll(/<text x="[\d.]+" y="[\d.]+" text-anchor="(middle|end)">([\d.]+%)</g)].map((m) => [m[1], m[2]]);

test("the y axis uses one unit, chosen by its top", () => {
  const ms = yLabels(chartOf(Array.from({ length: 1000 }, (_, i) => 200 + i * 7)));
  assert.equal(ms.length, 6);
  assert.deepEqual(ms, ["0 ms", "2 ms", "4 ms", "6 ms", "8 ms", "10 ms"]);
  const us = yLabels(chartOf([12, 40, 90, 180]));
  assert.deepEqual(us, ["0 µs", "40 µs", "80 µs", "120 µs", "160 µs", "200 µs"]);
  assert.deepEqual(yLabels(chartOf([300_000, 1_800_000])), ["0 s", "0.4 s", "0.8 s", "1.2 s", "1.6 s", "2 s"]);
});

test("the last percentile label ends at its line; the others are centred", () => {
  const labels = xLabels(chartOf(Array.from({ length: 5000 }, (_, i) => 100 + (i % 97))));
  assert.ok(labels.length >= 4, JSON.stringify(labels));
  assert.deepEqual(labels.at(-1)?.[0], "end");
  assert.ok(labels.slice(0, -1).every(([anchor]) => anchor === "middle"), JSON.stringify(labels));
});

test("axisUnit formats without float noise", () => {
  assert.equal(axisUnit(5_000)(1_000), "1 ms");
  assert.equal(axisUnit(5_000)(3_000 / 5 * 2), "1.2 ms");
  assert.equal(axisUnit(500)(0), "0 µs");
});
