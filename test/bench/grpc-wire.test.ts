/**
 * bench/lib/grpc-wire.js: the gRPC peer's pre-encoded request and the
 * parsing of h2load's output into the bench's report. Pure functions, no
 * server, no h2load run: the samples are nghttp2 1.52's real output.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT } from "../helpers/server.ts";

// Plain JS without declarations: imported through a computed specifier (typed any).
const wire = await import(pathToFileURL(join(ROOT, "bench/lib/grpc-wire.js")).href);
const nodeClient = await import(pathToFileURL(join(ROOT, "bench/lib/node-client.js")).href);

const SUMMARY = `starting benchmark...
spawning thread #0: 32 total client(s). Timing-based test with 0.5s of warm-up time and 3s of main duration for measurements.
Warm-up started for thread #0.
Warm-up phase is over for thread #0.
Main benchmark duration is started for thread #0.
Main benchmark duration is over for thread #0. Stopping all clients.
Stopped all clients for thread #0

finished in 3.01s, 8474.00 req/s, 471.68KB/s
requests: 16948 total, 16950 started, 16947 done, 16940 succeeded, 3 failed, 2 errored, 1 timeout
status codes: 16940 2xx, 0 3xx, 4 4xx, 5 5xx
traffic: 943.37KB (966008) total, 94.02KB (96276) headers (space savings 96.38%), 429.63KB (439944) data
                     min         max         mean         sd        +/- sd
time for request:      159us     68.55ms      1.84ms      4.59ms    93.52%
req/s           :     851.89     5866.55     2118.01     2499.06    75.00%
`;

test("grpcFrame: 5-byte prefix (uncompressed, big-endian length) and PingRequest's field 1 as a length-delimited string", () => {
  const frame: Buffer = wire.grpcFrame(wire.payloadString(16));
  assert.equal(frame.toString("hex"), `00000000120a10${Buffer.from("abcdefghijklmnop").toString("hex")}`);
});

test("grpcFrame: a 16384-character params needs a 3-byte varint, and the prefix counts the whole message", () => {
  const frame: Buffer = wire.grpcFrame(wire.payloadString(16384));
  assert.equal(frame.readUInt32BE(1), 1 + 3 + 16384);
  assert.equal(frame.subarray(5, 9).toString("hex"), "0a808001");
  assert.equal(frame.length, 5 + 1 + 3 + 16384);
  assert.equal(frame.subarray(9, 35).toString(), "abcdefghijklmnopqrstuvwxyz");
});

test("grpcFrame: the length is in UTF-8 bytes, not characters", () => {
  const frame: Buffer = wire.grpcFrame("é€");
  assert.equal(frame.subarray(5).toString("hex"), `0a05${Buffer.from("é€").toString("hex")}`);
});

test("varint: protobuf base-128, low group first; refuses what is not a whole number", () => {
  assert.equal(wire.varint(0).toString("hex"), "00");
  assert.equal(wire.varint(127).toString("hex"), "7f");
  assert.equal(wire.varint(128).toString("hex"), "8001");
  assert.equal(wire.varint(300).toString("hex"), "ac02");
  assert.throws(() => wire.varint(-1), RangeError);
  assert.throws(() => wire.varint(1.5), RangeError);
});

test("parseH2loadSummary: requests by outcome, status classes and h2load's req/s", () => {
  assert.deepEqual(wire.parseH2loadSummary(SUMMARY), {
    total: 16948,
    started: 16950,
    done: 16947,
    succeeded: 16940,
    failed: 3,
    errored: 2,
    timeout: 1,
    s2xx: 16940,
    s3xx: 0,
    s4xx: 4,
    s5xx: 5,
    rps: 8474,
  });
});

test("parseH2loadSummary: output without the summary (h2load cut short, another format) throws, saying so", () => {
  assert.throws(() => wire.parseH2loadSummary(SUMMARY.replace(/^status codes:.*$/m, "")), /summary is not in its output/);
  assert.throws(() => wire.parseH2loadSummary(""), /summary is not in its output/);
});

test("parseH2loadLog: sorted durations; a status other than 200 counts, 0 (headers before the window) does not", () => {
  const log = "1796281669656649\t200\t5653\n1796281669656650\t0\t523593\n1796281669656651\t503\t12\n1796281669656652\t200\t900\n";
  const { durations, not200 } = wire.parseH2loadLog(log);
  assert.deepEqual(durations, [12, 900, 5653, 523593]);
  assert.equal(not200, 1);
  assert.throws(() => wire.parseH2loadLog("1796281669656649 200 5653\n"), /start<TAB>status<TAB>duration/);
});

test("quantile: nearest rank; none of nothing", () => {
  const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(wire.quantile(sorted, 0.5), 50);
  assert.equal(wire.quantile(sorted, 0.99), 99);
  assert.equal(wire.quantile(sorted, 1), 100);
  assert.equal(wire.quantile([7], 0.999), 7);
  assert.equal(wire.quantile([], 0.5), null);
});

test("h2loadShape: the grid's connections x pipeline are h2load's clients x concurrent streams", () => {
  assert.deepEqual(wire.h2loadShape({ connections: 32, pipeline: 32 }), { clients: 32, streams: 32 });
  assert.deepEqual(wire.h2loadShape({ connections: 512, pipeline: 1 }), { clients: 512, streams: 1 });
});

test("the Node client harness runs with package.json start's node flags, not its entry file", () => {
  const flags: string[] = nodeClient.loaderFlags();
  assert.ok(flags.includes("--import"), flags.join(" "));
  assert.ok(!flags.some((f) => f.endsWith(".ts")), flags.join(" "));
});
