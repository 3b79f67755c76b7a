import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { encodeFrames, FrameDecoder, PREFIX_BYTES } from "../../src/protocol/frame.ts";
import type { Fault } from "../../src/protocol/codes.ts";

const MIB = 1024 * 1024;

function prefix(length: number): Buffer {
  const p = Buffer.alloc(PREFIX_BYTES);
  p.writeUInt32LE(length);
  return p;
}

function frameOf(body: Uint8Array): Buffer {
  return Buffer.concat([prefix(body.length), body]);
}

/** A decoder that keeps a copy of every body it hands out (bodies may be views of a chunk). */
function collecting(maxFrameBytes = MIB): { decoder: FrameDecoder; bodies: Buffer[] } {
  const bodies: Buffer[] = [];
  const decoder = new FrameDecoder(maxFrameBytes, (buf, start, end) => {
    bodies.push(Buffer.from(buf.subarray(start, end)));
  });
  return { decoder, bodies };
}

/** Offsets at which a frame ends (and the next one starts), including 0. */
function boundaries(bodies: readonly Uint8Array[]): Set<number> {
  const set = new Set<number>([0]);
  let at = 0;
  for (const b of bodies) {
    at += PREFIX_BYTES + b.length;
    set.add(at);
  }
  return set;
}

// fast-check keeps lengths tiny by default; "max" spreads them over 1..2000.
// Both kinds are mixed so that runs with many short frames (many boundaries
// per chunk) and runs with long ones (bodies split across chunks) both occur.
const bodyArb = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 2000, size: "max" }),
  fc.uint8Array({ minLength: 1, maxLength: 2000 }),
);
const bodiesArb = fc.array(bodyArb, { minLength: 1, maxLength: 8 });
const cutsArb = fc.array(fc.nat(), { maxLength: 40, size: "max" });

test("any split of a valid stream yields the same bodies in order, and midFrame tracks frame boundaries", () => {
  fc.assert(
    fc.property(bodiesArb, cutsArb, (bodies, rawCuts) => {
      const stream = Buffer.concat(bodies.map(frameOf));
      const cuts = [...new Set(rawCuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
      cuts.push(stream.length);
      const ends = boundaries(bodies);
      const { decoder, bodies: got } = collecting();
      let from = 0;
      for (const to of cuts) {
        assert.equal(decoder.push(stream.subarray(from, to)), null);
        assert.equal(decoder.midFrame, !ends.has(to), `midFrame after ${to} of ${stream.length} bytes`);
        from = to;
      }
      assert.deepEqual(got, bodies.map((b) => Buffer.from(b)));
    }),
    { numRuns: 150 },
  );
});

test("a stream fed byte by byte yields the same bodies, midFrame true exactly between boundaries", () => {
  fc.assert(
    fc.property(bodiesArb, (bodies) => {
      const stream = Buffer.concat(bodies.map(frameOf));
      const ends = boundaries(bodies);
      const { decoder, bodies: got } = collecting();
      for (let i = 0; i < stream.length; i++) {
        assert.equal(decoder.push(stream.subarray(i, i + 1)), null);
        if (decoder.midFrame === ends.has(i + 1)) assert.fail(`midFrame is ${decoder.midFrame} after ${i + 1} bytes`);
      }
      assert.deepEqual(got, bodies.map((b) => Buffer.from(b)));
    }),
    { numRuns: 30 },
  );
});

test("many frames in one chunk are all delivered, in order", () => {
  const bodies = Array.from({ length: 1000 }, (_, i) => Buffer.from(`{"in":"ping","params":${i}}`));
  const { decoder, bodies: got } = collecting();
  assert.equal(decoder.push(Buffer.concat(bodies.map(frameOf))), null);
  assert.deepEqual(got, bodies);
  assert.equal(decoder.midFrame, false);
});

test("an empty chunk changes nothing", () => {
  const { decoder, bodies } = collecting();
  assert.equal(decoder.push(Buffer.alloc(0)), null);
  assert.equal(decoder.midFrame, false);
  decoder.push(Buffer.from([5, 0]));
  assert.equal(decoder.push(Buffer.alloc(0)), null);
  assert.equal(decoder.midFrame, true);
  assert.deepEqual(bodies, []);
});

test("midFrame: false when idle, true through a partial prefix and a partial body, false once whole", () => {
  const { decoder, bodies } = collecting();
  assert.equal(decoder.midFrame, false);
  const frame = frameOf(Buffer.from("hello"));
  decoder.push(frame.subarray(0, 1));
  assert.equal(decoder.midFrame, true, "1 byte of prefix");
  decoder.push(frame.subarray(1, 4));
  assert.equal(decoder.midFrame, true, "whole prefix, no body");
  decoder.push(frame.subarray(4, 6));
  assert.equal(decoder.midFrame, true, "part of the body");
  decoder.push(frame.subarray(6));
  assert.equal(decoder.midFrame, false, "whole frame");
  // a whole frame plus part of the next one's prefix
  decoder.push(Buffer.concat([frame, frame.subarray(0, 2)]));
  assert.equal(decoder.midFrame, true, "a frame and 2 bytes of the next prefix");
  assert.deepEqual(bodies.map(String), ["hello", "hello"]);
});

function assertFault(fault: Fault | null, code: Fault["code"]): void {
  assert.ok(fault !== null, `expected a ${code} fault, got none`);
  assert.equal(fault.code, code);
  assert.equal(typeof fault.message, "string");
}

test("prefix 0 is BAD_FRAME; frames before it are delivered, everything after it ignored", () => {
  const { decoder, bodies } = collecting();
  const before = [Buffer.from("a"), Buffer.from("bb")];
  const chunk = Buffer.concat([...before.map(frameOf), prefix(0), frameOf(Buffer.from("after"))]);
  const fault = decoder.push(chunk);
  assertFault(fault, "BAD_FRAME");
  assert.deepEqual(bodies, before);
  const again = decoder.push(frameOf(Buffer.from("later")));
  assert.deepEqual(again, fault, "push after a fault returns the fault again");
  assert.deepEqual(bodies, before, "nothing after the fault is delivered");
});

test("prefix above maxFrameBytes is FRAME_TOO_LARGE; frames before it are delivered, everything after ignored", () => {
  const { decoder, bodies } = collecting(100);
  const before = Buffer.alloc(100, 7); // exactly the limit is fine
  const chunk = Buffer.concat([frameOf(before), prefix(101), Buffer.alloc(101, 1), frameOf(Buffer.from("x"))]);
  const fault = decoder.push(chunk);
  assertFault(fault, "FRAME_TOO_LARGE");
  assert.deepEqual(bodies, [before]);
  assert.deepEqual(decoder.push(frameOf(Buffer.from("y"))), fault);
  assert.deepEqual(decoder.push(Buffer.alloc(0)), fault);
  assert.deepEqual(bodies, [before]);
});

test("a bad prefix split across chunks faults when its last byte arrives", () => {
  for (const [bad, code] of [
    [prefix(0), "BAD_FRAME"],
    [prefix(11), "FRAME_TOO_LARGE"],
  ] as const) {
    const { decoder, bodies } = collecting(10);
    assert.equal(decoder.push(Buffer.concat([frameOf(Buffer.from("ok")), bad.subarray(0, 1)])), null);
    assert.equal(decoder.push(bad.subarray(1, 3)), null);
    assertFault(decoder.push(bad.subarray(3)), code);
    assert.deepEqual(bodies.map(String), ["ok"]);
  }
});

test("property: frames before a bad prefix are delivered, whatever the split; nothing after", () => {
  fc.assert(
    fc.property(
      bodiesArb,
      fc.constantFrom(0, 2001, 0xffffffff),
      fc.uint8Array({ maxLength: 50 }),
      cutsArb,
      (bodies, badLength, trailing, rawCuts) => {
        const stream = Buffer.concat([...bodies.map(frameOf), prefix(badLength), trailing]);
        const cuts = [...new Set(rawCuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
        cuts.push(stream.length);
        const { decoder, bodies: got } = collecting(2000);
        let from = 0;
        let fault: Fault | null = null;
        for (const to of cuts) {
          fault = decoder.push(stream.subarray(from, to));
          from = to;
        }
        assertFault(fault, badLength === 0 ? "BAD_FRAME" : "FRAME_TOO_LARGE");
        assert.deepEqual(got, bodies.map((b) => Buffer.from(b)));
      },
    ),
    { numRuns: 100 },
  );
});

test("the decoder never allocates more than maxFrameBytes for a frame, whatever the prefix claims", (t) => {
  const sizes: number[] = [];
  const allocUnsafe = Buffer.allocUnsafe;
  const alloc = Buffer.alloc;
  t.mock.method(Buffer, "allocUnsafe", (size: number) => {
    sizes.push(size);
    return allocUnsafe(size);
  });
  t.mock.method(Buffer, "alloc", (size: number, ...rest: any[]) => {
    sizes.push(size);
    return alloc(size, ...rest);
  });
  const decoder = new FrameDecoder(MIB, () => {});
  const hostile = Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xff]), Buffer.alloc(10)]);
  assertFault(decoder.push(hostile), "FRAME_TOO_LARGE");
  // the same prefix arriving byte by byte
  const slow = new FrameDecoder(MIB, () => {});
  let fault: Fault | null = null;
  for (const byte of [0xff, 0xff, 0xff, 0xff, 1, 2, 3]) fault = slow.push(Buffer.from([byte]));
  assertFault(fault, "FRAME_TOO_LARGE");
  t.mock.restoreAll();
  assert.ok(sizes.every((n) => n <= MIB), `allocations: ${sizes.join(", ")}`);
});

test("property: no allocation is ever larger than maxFrameBytes (random prefixes, random splits)", (t) => {
  // Only allocations made inside push() count: the decoder's own 4-byte prefix
  // buffer and the test's chunk copies are not bodies.
  let largest = 0;
  let pushing = false;
  const original = Buffer.allocUnsafe;
  t.mock.method(Buffer, "allocUnsafe", (size: number) => {
    if (pushing) largest = Math.max(largest, size);
    return original(size);
  });
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 4096 }),
      fc.array(fc.uint8Array({ minLength: 1, maxLength: 64 }), { minLength: 1, maxLength: 20 }),
      (max, chunks) => {
        largest = 0;
        const decoder = new FrameDecoder(max, () => {});
        for (const bytes of chunks) {
          const chunk = Buffer.from(bytes);
          pushing = true;
          const fault = decoder.push(chunk);
          pushing = false;
          if (fault !== null) break;
        }
        assert.ok(largest <= max, `allocated ${largest} with maxFrameBytes ${max}`);
      },
    ),
    { numRuns: 300 },
  );
});

test("a body split across chunks arrives whole (including one of exactly maxFrameBytes)", () => {
  const max = 64 * 1024;
  const body = Buffer.alloc(max);
  for (let i = 0; i < body.length; i++) body[i] = i % 251;
  const { decoder, bodies } = collecting(max);
  const frame = frameOf(body);
  for (let at = 0; at < frame.length; at += 1000) assert.equal(decoder.push(frame.subarray(at, at + 1000)), null);
  assert.deepEqual(bodies, [body]);
});

test("encodeFrames: the prefix counts UTF-8 bytes, not characters", () => {
  const text = '{"in":"héllo😀"}';
  const frame = encodeFrames([text]);
  const bytes = Buffer.byteLength(text);
  assert.notEqual(bytes, text.length); // the case is only interesting if they differ
  assert.equal(frame.readUInt32LE(0), bytes);
  assert.equal(frame.length, PREFIX_BYTES + bytes);
  assert.equal(frame.subarray(PREFIX_BYTES).toString("utf8"), text);
  assert.deepEqual(encodeFrames(["é"]), Buffer.from([2, 0, 0, 0, 0xc3, 0xa9]));
});

test("encodeFrames writes consecutive frames in one buffer; an empty list is an empty buffer", () => {
  assert.equal(encodeFrames([]).length, 0);
  const frames = encodeFrames(["a", "€", "😀x"]);
  assert.deepEqual(
    frames,
    Buffer.concat([frameOf(Buffer.from("a")), frameOf(Buffer.from("€")), frameOf(Buffer.from("😀x"))]),
  );
});

test("property: encodeFrames round-trip through the decoder (any Unicode text)", () => {
  const text = fc.oneof(fc.json(), fc.string({ unit: "grapheme", minLength: 1, maxLength: 200 }));
  fc.assert(
    fc.property(fc.array(text, { minLength: 1, maxLength: 10 }), cutsArb, (texts, rawCuts) => {
      const { decoder, bodies } = collecting();
      assert.equal(decoder.push(encodeFrames(texts)), null);
      assert.deepEqual(bodies.map((b) => b.toString("utf8")), texts);

      const one = collecting();
      const stream = Buffer.concat(texts.map((text) => encodeFrames([text])));
      assert.deepEqual(stream, encodeFrames(texts));
      const cuts = [...new Set(rawCuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
      cuts.push(stream.length);
      let from = 0;
      for (const to of cuts) {
        assert.equal(one.decoder.push(stream.subarray(from, to)), null);
        from = to;
      }
      assert.deepEqual(one.bodies.map((b) => b.toString("utf8")), texts);
    }),
    { numRuns: 150 },
  );
});

test("a body sent a byte at a time costs memory in proportion to its size, not to the number of pieces", () => {
  const size = 100_000;
  const body = Buffer.alloc(size, 0x61);
  const stream = frameOf(body);
  const { decoder, bodies } = collecting();
  const original = Buffer.allocUnsafe;
  let allocated = 0;
  let largest = 0;
  Buffer.allocUnsafe = ((n: number) => {
    allocated += n;
    largest = Math.max(largest, n);
    return original(n);
  }) as typeof Buffer.allocUnsafe;
  try {
    for (let i = 0; i < stream.length; i++) decoder.push(stream.subarray(i, i + 1));
  } finally {
    Buffer.allocUnsafe = original;
  }
  assert.equal(bodies.length, 1);
  assert.ok(bodies[0]!.equals(body));
  assert.equal(largest, size, "the last buffer is exactly the body");
  // Doubling: all buffers together stay within 2x the body (plus the first 16 KB).
  assert.ok(allocated <= 2 * size + 16 * 1024, `allocated ${allocated} bytes for a ${size}-byte body`);
});

test("a sink that returns false stops the decoder; resume() goes on from the same byte, across a split body too", () => {
  const got: string[] = [];
  let stop = new Set(["b", "d"]);
  const decoder = new FrameDecoder(MIB, (buf, start, end) => {
    const body = buf.toString("utf8", start, end);
    got.push(body);
    return !stop.has(body);
  });
  const all = Buffer.concat(["a", "b", "c", "d", "e"].map((s) => frameOf(Buffer.from(s))));
  // The last frame arrives split: its first half in this chunk.
  assert.equal(decoder.push(all.subarray(0, all.length - 1)), null);
  assert.deepEqual(got, ["a", "b"]);
  assert.equal(decoder.held, true);
  assert.equal(decoder.resume(), null);
  assert.deepEqual(got, ["a", "b", "c", "d"]);
  assert.equal(decoder.resume(), null);
  assert.equal(decoder.held, false);
  assert.equal(decoder.midFrame, true);
  stop = new Set();
  assert.equal(decoder.push(all.subarray(all.length - 1)), null);
  assert.deepEqual(got, ["a", "b", "c", "d", "e"]);
  assert.equal(decoder.resume(), null, "nothing held: nothing to do");
});

// Cases a mutation run (npm run mutate -- protocol) showed no test held.
test("a body whole inside one chunk is handed out as a view of that chunk, also when it ends the chunk", () => {
  const seen: Array<{ same: boolean; start: number; end: number }> = [];
  const chunk = Buffer.concat([frameOf(Buffer.from("ab")), frameOf(Buffer.from("cde"))]);
  const decoder = new FrameDecoder(MIB, (buf, start, end) => {
    seen.push({ same: buf === chunk, start, end });
  });
  assert.equal(decoder.push(chunk), null);
  assert.deepEqual(seen, [
    { same: true, start: 4, end: 6 },
    { same: true, start: 10, end: 13 },
  ]);
});

test("a body split across chunks is assembled in a buffer of exactly its size", () => {
  const seen: Array<{ length: number; start: number; end: number; text: string }> = [];
  const decoder = new FrameDecoder(MIB, (buf, start, end) => {
    seen.push({ length: buf.length, start, end, text: buf.toString("utf8", start, end) });
  });
  const stream = frameOf(Buffer.from("hello"));
  decoder.push(stream.subarray(0, 6));
  decoder.push(stream.subarray(6));
  assert.deepEqual(seen, [{ length: 5, start: 0, end: 5, text: "hello" }]);
});

test("fault messages say what was wrong: a zero prefix, or the size against the limit", () => {
  const zero = new FrameDecoder(MIB, () => {}).push(prefix(0));
  assert.match(zero?.message ?? "", /prefix is 0/);
  const big = new FrameDecoder(100, () => {}).push(prefix(101));
  assert.match(big?.message ?? "", /101 bytes.*maxFrameBytes \(100\)/);
});

test("memory follows the bytes received, not the prefix: 10 bytes of a body said to be 1 MiB cost at most 16 KiB", (t) => {
  const sizes: number[] = [];
  const allocUnsafe = Buffer.allocUnsafe;
  t.mock.method(Buffer, "allocUnsafe", (size: number) => {
    sizes.push(size);
    return allocUnsafe(size);
  });
  const decoder = new FrameDecoder(MIB, () => {});
  assert.equal(decoder.push(Buffer.concat([prefix(MIB), Buffer.alloc(10, 1)])), null);
  assert.equal(decoder.push(Buffer.alloc(10, 2)), null);
  t.mock.restoreAll();
  assert.ok(sizes.length > 0 && sizes.every((n) => n <= 16 * 1024), `allocations: ${sizes.join(", ")}`);
});

// Survivor of npm run mutate on main's held/resume (`=== false` to `=== true`
// after a split body): a sink that returns true must not stop the decoder.
test("after a body assembled across chunks, a sink returning true gets the frames behind it in the same chunk at once", () => {
  const bodies: string[] = [];
  const decoder = new FrameDecoder(MIB, (buf, start, end) => bodies.push(buf.toString("utf8", start, end)) > 0);
  const stream = Buffer.concat([frameOf(Buffer.from("split")), frameOf(Buffer.from("next"))]);
  assert.equal(decoder.push(stream.subarray(0, 6)), null);
  assert.equal(decoder.push(stream.subarray(6)), null);
  assert.deepEqual(bodies, ["split", "next"]);
  assert.equal(decoder.held, false);
});
