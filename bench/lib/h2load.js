// Running h2load (Debian's nghttp2-client) against the gRPC peer: the same
// report runLoadgen gives for loadgen.c, so measureLoad and the tables read
// it unchanged. The request is grpc-wire.js's pre-encoded message; the
// grid's connections x pipeline become h2load's clients (-c) x max concurrent
// streams per client (-m): 32x32 is 32 HTTP/2 connections with 32 calls in
// flight on each, 512x1 is 512 connections with one call each.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { grpcFrame, h2loadShape, parseH2loadLog, parseH2loadSummary, payloadString, quantile } from "./grpc-wire.js";

export const GRPC_PATH = "/forkrpc.bench.Pinger/Ping";
const HEADERS = ["content-type: application/grpc", "te: trailers"];
/**
 * Connections are opened in h2load's warm-up, which is not counted: the
 * measured window starts after it, as loadgen.c's starts after its connect
 * phase. (The bench's own warm-up is a separate h2load run before this one.)
 */
const CONNECT_WARMUP = "500ms";
const CLK_TCK = 100;

/** user+system CPU of a live process in us (/proc/PID/stat), null once it is gone. */
function cpuOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLK_TCK;
  } catch {
    return null;
  }
}

/**
 * Two calls with nghttp before the load: HTTP 200 and `grpc-status: 0` in
 * the trailers (verbose), and the echo back (its body, byte for byte). h2load counts HTTP statuses only, and a gRPC
 * error (an unknown method, a bad message) is an HTTP 200 with a non-zero
 * grpc-status: this is where a wrong path or frame would show.
 */
function checkOneCall(port, body, bodyFile) {
  const args = ["-v", "-d", bodyFile, ...HEADERS.flatMap((h) => ["-H", h]), `http://127.0.0.1:${port}${GRPC_PATH}`];
  const out = execFileSync("nghttp", args, { timeout: 5_000, maxBuffer: 64 * 1024 * 1024 });
  const text = out.toString("latin1");
  const status = /recv \(stream_id=\d+\) grpc-status: (\d+)/.exec(text)?.[1];
  if (!/recv \(stream_id=\d+\) :status: 200/.test(text) || status !== "0") {
    throw new Error(`the gRPC peer did not answer a Ping with HTTP 200 and grpc-status 0 (grpc-status ${status ?? "missing"})`);
  }
  // Without -v stdout is the body alone (with -v, frame logs split a large one).
  const answer = execFileSync("nghttp", args.slice(1), { timeout: 5_000, maxBuffer: 64 * 1024 * 1024 });
  if (!answer.equals(body)) throw new Error("the gRPC peer's answer is not the echo of the Ping's params");
}

/**
 * runLoadgen's contract over h2load: resolves with a report of the same
 * fields (requests and latency of the measured window, errors, the
 * generator's CPU), calling onPhase("start"/"end") on h2load's own lines for
 * its main duration. Rejects when nothing succeeded, unless `warmingUp`.
 */
export function runH2load({ port, connections, pipeline, seconds, payload, threads = 1, onPhase, warmingUp = false }) {
  const dir = mkdtempSync(join(os.tmpdir(), "forkrpc-h2load-"));
  const body = grpcFrame(payloadString(payload));
  const bodyFile = join(dir, "ping.bin");
  const logFile = join(dir, "requests.log");
  writeFileSync(bodyFile, body);
  const { clients, streams } = h2loadShape({ connections, pipeline });
  const args = [
    ...["-c", clients, "-m", streams, "-t", Math.min(threads, clients), "-D", seconds, "--warm-up-time", CONNECT_WARMUP],
    ...["-d", bodyFile, "--log-file", logFile, ...HEADERS.flatMap((h) => ["-H", h]), `http://127.0.0.1:${port}${GRPC_PATH}`],
  ].map(String);
  try {
    checkOneCall(port, body, bodyFile);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    return Promise.reject(error);
  }
  return new Promise((resolve, reject) => {
    const child = spawn("h2load", args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    let cpuStart = null;
    let cpuEnd = null;
    let startedAt = null;
    let endedAt = null;
    child.stdout.on("data", (c) => {
      const before = out.length;
      out += c;
      const fresh = out.slice(Math.max(0, out.lastIndexOf("\n", before - 1) + 1));
      if (startedAt === null && /^Main benchmark duration is started/m.test(fresh)) {
        startedAt = performance.now();
        cpuStart = cpuOf(child.pid);
        onPhase?.("start");
      }
      if (startedAt !== null && endedAt === null && /^Main benchmark duration is over/m.test(fresh)) {
        endedAt = performance.now();
        cpuEnd = cpuOf(child.pid);
        onPhase?.("end");
      }
    });
    child.stderr.on("data", (c) => (err += c));
    child.on("error", (error) => {
      rmSync(dir, { recursive: true, force: true });
      reject(error);
    });
    child.on("exit", (code, signal) => {
      try {
        if (code !== 0) throw new Error(`exit ${signal ?? code}`);
        const summary = parseH2loadSummary(out);
        const log = parseH2loadLog(readFileSync(logFile, "utf8"));
        const served = /^req\/s\s*:\s*([\d.]+)/m.exec(out);
        const elapsed = endedAt !== null ? (endedAt - startedAt) / 1000 : seconds;
        const requests = summary.succeeded;
        // A warm-up that got no answer yet (grpc-js at 512x32: 16,384 calls in flight, the first answers after the window) still warmed up.
        if (requests === 0 && !warmingUp) throw new Error("no request succeeded");
        const errors = summary.failed + summary.errored + summary.timeout + summary.s3xx + summary.s4xx + summary.s5xx + log.not200;
        resolve({
          requests,
          seconds: elapsed,
          rps: requests / elapsed,
          p50_us: quantile(log.durations, 0.5),
          p90_us: quantile(log.durations, 0.9),
          p99_us: quantile(log.durations, 0.99),
          p999_us: quantile(log.durations, 0.999),
          max_us: log.durations.at(-1) ?? null,
          errors,
          connections_lost: 0,
          connections_unconnected: 0,
          // h2load has no per-connection count; its slowest client's req/s above 0 means every one was answered.
          connections_served: served !== null && Number(served[1]) > 0 ? connections : null,
          cpu_us: cpuStart !== null && cpuEnd !== null ? cpuEnd - cpuStart : 0,
          connections,
          pipeline,
          payload,
          threads,
          protocol: "grpc",
          h2load: summary,
        });
      } catch (error) {
        reject(new Error(`h2load ${args.join(" ")}: ${error.message}${err ? `\n${err.slice(-600)}` : ""}`));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
