/**
 * The bench's log-linear histogram: bounded relative error against exact
 * percentiles (fast-check), bucket bounds, and merging across threads.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Histogram, MAX_VALUE } from "../../src/cli/bench/histogram.ts";

const value = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 0, max: MAX_VALUE }));

function exact(sorted: number[], q: number): number {
  return sorted[Math.max(1, Math.ceil((q / 100) * sorted.length)) - 1] as number;
}

test("every percentile is within 1/128 above the exact one (2 significant digits), exact below 256", () => {
  fc.assert(
    fc.property(fc.array(value, { minLength: 1, maxLength: 400 }), fc.constantFrom(0.1, 1, 50, 90, 99, 99.9, 100), (values, q) => {
      const h = new Histogram();
      for (const v of values) h.record(v);
      const sorted = [...values].sort((a, b) => a - b);
      const want = exact(sorted, q);
      const got = h.percentile(q);
      assert.ok(got >= want && got <= want + want / 128, `p${q}: got ${got}, exact ${want}`);
      if (want < 256) assert.equal(got, want);
    }),
  );
});

test("each value falls inside its bucket, and buckets are no wider than 1/128 of their floor", () => {
  const h = new Histogram();
  fc.assert(
    fc.property(value, (v) => {
      const i = h.indexOf(v);
      assert.ok(h.lowest(i) <= v && v <= h.highest(i), `${v} in bucket ${i} [${h.lowest(i)}, ${h.highest(i)}]`);
      assert.ok(h.highest(i) - h.lowest(i) <= h.lowest(i) / 128);
      if (i > 0) assert.equal(h.highest(i - 1) + 1, h.lowest(i), "buckets are contiguous");
    }),
  );
  assert.equal(h.indexOf(MAX_VALUE), h.counts.length - 1);
  assert.equal(h.highest(h.counts.length - 1), MAX_VALUE);
});

test("merging two histograms is recording everything in one", () => {
  fc.assert(
    fc.property(fc.array(value), fc.array(value), (a, b) => {
      const ha = new Histogram();
      const hb = new Histogram();
      const all = new Histogram();
      for (const v of a) ha.record(v);
      for (const v of b) hb.record(v);
      for (const v of [...a, ...b]) all.record(v);
      ha.merge(structuredClone(hb.toData())); // as it crosses threads
      assert.deepEqual(ha.toData(), all.toData());
    }),
  );
});

test("min, max, mean are exact; out-of-range values are clamped; an empty histogram says 0", () => {
  const h = new Histogram();
  assert.equal(h.percentile(50), 0);
  h.record(-5);
  h.record(1.4);
  h.record(123_456_789.6);
  h.record(2 ** 40);
  assert.equal(h.min, 0);
  assert.equal(h.max, MAX_VALUE);
  assert.equal(h.total, 4);
  assert.equal(h.mean(), (0 + 1 + 123_456_790 + MAX_VALUE) / 4);
  assert.equal(h.percentile(100), MAX_VALUE);
  assert.equal(h.percentile(0), 0);
  assert.throws(() => h.merge(new Histogram(3).toData()), /different precision/);
});

test("the percentile curve climbs to 1 at the maximum", () => {
  const h = new Histogram();
  for (let v = 1; v <= 1000; v++) h.record(v * 37);
  const curve = h.curve();
  assert.equal(curve.at(-1)?.fraction, 1);
  assert.equal(curve.at(-1)?.value, 37_000);
  for (let i = 1; i < curve.length; i++) assert.ok((curve[i]?.value as number) > (curve[i - 1]?.value as number));
});
