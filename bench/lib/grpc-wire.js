// The gRPC peer's load, as pure functions: the request h2load sends (one
// gRPC message, pre-encoded), and the figures read back from h2load's output
// and request log. No I/O here, so test/bench/grpc-wire.test.ts checks them.

/** 'a' to 'z' over and over, as loadgen.c fills its params. */
export const payloadString = (chars) => Array.from({ length: chars }, (_, i) => String.fromCharCode(97 + (i % 26))).join("");

/** A protobuf base-128 varint. */
export function varint(n) {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`varint: not a whole number: ${n}`);
  const bytes = [];
  while (n >= 0x80) {
    bytes.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  bytes.push(n);
  return Buffer.from(bytes);
}

/**
 * One length-prefixed gRPC message carrying `PingRequest { string params = 1 }`
 * (hand-encoded: field 1, wire type 2, so tag 0x0a, then the byte length and
 * the UTF-8 bytes): a 0 byte (not compressed), the message's length as 4
 * bytes big-endian, the message. `PingReply { string result = 1 }` encodes
 * the same way, so the answer to an echo is these same bytes.
 */
export function grpcFrame(params) {
  const bytes = Buffer.from(params, "utf8");
  const message = Buffer.concat([Buffer.from([0x0a]), varint(bytes.length), bytes]);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

const count = (text, re) => {
  const m = re.exec(text);
  return m === null ? null : m.slice(1).map(Number);
};

/**
 * h2load's summary (nghttp2 1.52): requests by outcome, status classes, the
 * client count. Throws when a line it relies on is missing (a different
 * h2load, or a run that ended before printing it).
 */
export function parseH2loadSummary(text) {
  const requests = count(text, /^requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout$/m);
  const status = count(text, /^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx$/m);
  const finished = count(text, /^finished in ([\d.]+)s, ([\d.]+) req\/s/m);
  if (requests === null || status === null || finished === null) {
    throw new Error(`h2load's summary is not in its output:\n${text.slice(-600)}`);
  }
  const [total, started, done, succeeded, failed, errored, timeout] = requests;
  const [s2xx, s3xx, s4xx, s5xx] = status;
  return { total, started, done, succeeded, failed, errored, timeout, s2xx, s3xx, s4xx, s5xx, rps: finished[1] };
}

/**
 * Latencies in microseconds from h2load's `--log-file` (one line per request
 * of the measured window: start time in us, HTTP status, duration in us),
 * with how many lines had a status other than 200. Status 0 is not one: it
 * is a request whose response headers came before the measured window (in
 * h2load's warm-up, whose statuses it does not log) and whose end came in it.
 */
export function parseH2loadLog(text) {
  const durations = [];
  let not200 = 0;
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const [, status, duration] = line.split("\t");
    if (duration === undefined) throw new Error(`h2load log line is not start<TAB>status<TAB>duration: "${line}"`);
    if (status !== "200" && status !== "0") not200++;
    durations.push(Number(duration));
  }
  durations.sort((a, b) => a - b);
  return { durations, not200 };
}

/** The q-quantile of sorted values (nearest rank), null when there are none. */
export function quantile(sorted, q) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** The grid's connections x pipeline as h2load's clients x max concurrent streams per client. */
export const h2loadShape = ({ connections, pipeline }) => ({ clients: connections, streams: pipeline });
