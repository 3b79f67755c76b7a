/**
 * `forkrpc bench`: a closed-loop load generator for the forkrpc protocol.
 * Connections are spread over worker threads (src/cli/bench/worker.ts);
 * each keeps --pipeline requests in flight over raw sockets with the
 * repo's framing, pre-encoded, one write per read. This thread starts them
 * together, prints the progress line, ends the run on time whatever
 * happens, and merges what the threads counted into the summary.
 */
import { writeFileSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { intFlag, jsonArg, metaArg, parseFlags, UsageError } from "./args.ts";
import { ID_BASE, MAX_PIPELINE, type FromWorker, type LoadResult, type LoadSettings, type ToWorker } from "./bench/messages.ts";
import { safeJson } from "./escape.ts";
import { htmlReport } from "./bench/report.ts";
import { formatSummary, int, summarize, type RunSettings } from "./bench/summary.ts";
import { TARGET_FLAGS, TARGET_USAGE, targetFrom, unreachable, withToken, type Target } from "./target.ts";
import { ETCD_FLAGS, ETCD_USAGE, etcdTargetFrom, listServing } from "./etcd-target.ts";
import { preflight } from "./bench/preflight.ts";
import { encodeRequest } from "../protocol/client-envelope.ts";

export const BENCH_USAGE = `forkrpc bench [--host HOST] [--port N] [--config FILE] [--token T] [--tls-ca FILE ...] [--connections C] [--pipeline D] [--duration S]
              [--method M] [--params JSON] [--meta JSON] [--ids] [--threads T]
              [--json] [--report FILE.html] [--progress] [--etcd URL --service NAME]

${TARGET_USAGE}
${ETCD_USAGE} (connections are spread over its serving instances)
  --connections  connections to open (default 32)
  --pipeline     requests each connection keeps in flight (default 32)
  --duration     seconds to run (default 10)
  --method       method to call (default ping)
  --params       params, as JSON (default "hello")
  --meta         meta sent with every request, a JSON object (e.g. a token)
  --ids          send ids, answers in any order (default: no ids, answers in order)
  --threads      load threads the connections are spread over (default 1)
  --json         print the summary as one JSON object
  --report       also write a self-contained HTML page with the latency chart
  --progress     print the progress line even when stderr is not a terminal`;

const BENCH_FLAGS = {
  ...TARGET_FLAGS,
  ...ETCD_FLAGS,
  connections: { type: "string" },
  pipeline: { type: "string" },
  duration: { type: "string" },
  method: { type: "string" },
  params: { type: "string" },
  meta: { type: "string" },
  ids: { type: "boolean" },
  threads: { type: "string" },
  json: { type: "boolean" },
  report: { type: "string" },
  progress: { type: "boolean" },
} as const;

/** How long opening the connections may take, per connection. */
const CONNECT_TIMEOUT_MS = 5_000;
/**
 * How long the call before the load may take to answer. A slower first
 * answer does not stop the run (it is counted as DEADLINE_EXCEEDED, a load
 * error); this only bounds the wait before a run against a server that never answers.
 */
const PREFLIGHT_ANSWER_MS = 1_000;
/** How long past the end a thread may take to report before it is cut off. */
const REPORT_GRACE_MS = 5_000;

/** The worker's file: worker.ts from source, worker.js from dist/. */
const WORKER_URL = new URL(`./bench/worker${import.meta.url.slice(import.meta.url.lastIndexOf("."))}`, import.meta.url);

export async function bench(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, BENCH_FLAGS);
  const { run, texts, target, targets, probeCall } = await settingsFrom(values);
  const refused = await preflight(target, run.method, probeCall.params, probeCall.meta, { connectMs: CONNECT_TIMEOUT_MS, answerMs: PREFLIGHT_ANSWER_MS });
  if (refused !== null) {
    process.stderr.write(`${refused}\n`);
    return 1;
  }
  const progress = new SharedArrayBuffer(Float64Array.BYTES_PER_ELEMENT * 2 * run.threads);
  const threads = startThreads(run, targets, texts, progress, target.tls);
  try {
    const failure = await connected(threads);
    if (failure !== null) {
      process.stderr.write(`${unreachable(target, failure)}\n`);
      return 1;
    }
    const cpuBefore = process.cpuUsage();
    const startedAt = performance.timeOrigin + performance.now();
    const endAt = startedAt + run.durationS * 1000;
    for (const t of threads) t.send({ type: "start", endAt });
    const results = await measured(threads, run, progress, values.progress === true);
    const wallMs = performance.timeOrigin + performance.now() - startedAt;
    const cpu = process.cpuUsage(cpuBefore);
    const { summary, histogram } = summarize(run, results, { startedAt, cpuUs: cpu.user + cpu.system, wallMs });
    process.stdout.write(values.json === true ? `${safeJson(summary, 2)}\n` : `${formatSummary(summary)}\n`);
    if (values.report !== undefined) {
      writeFileSync(values.report as string, htmlReport(summary, histogram));
      process.stderr.write(`wrote ${values.report as string}\n`);
    }
    const failed = summary.requests === 0 || summary.errors > 0 || summary.connectionsLost > 0 || summary.threadsMissing > 0;
    return failed ? 1 : 0;
  } finally {
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }
}

interface Settings {
  run: RunSettings;
  texts: string[];
  /** The first server: the preflight's, and the one errors name. */
  target: Target;
  /** Every server the connections are spread over (one, unless --etcd listed several). */
  targets: readonly Target[];
  /** What the preflight call sends. */
  probeCall: { params: unknown; meta: Record<string, unknown> | undefined };
}

async function settingsFrom(values: Record<string, unknown>): Promise<Settings> {
  const targets = await targetsFrom(values);
  const target = targets[0] as Target;
  const connections = intFlag("connections", values.connections as string | undefined, 1, 10_000) ?? 32;
  const pipeline = intFlag("pipeline", values.pipeline as string | undefined, 1, MAX_PIPELINE) ?? 32;
  const durationS = intFlag("duration", values.duration as string | undefined, 1, 3600) ?? 10;
  const threads = Math.min(intFlag("threads", values.threads as string | undefined, 1, 64) ?? 1, connections);
  const method = (values.method as string | undefined) ?? "ping";
  if (method === "") throw new UsageError("--method must not be empty");
  const params = values.params === undefined ? "hello" : jsonArg("--params", values.params as string);
  const paramsJson = JSON.stringify(params);
  const meta = withToken(metaArg(values.meta as string | undefined), target, values.token);
  const ids = values.ids === true;
  const methodJson = JSON.stringify(method);
  const metaJson = meta === undefined ? undefined : JSON.stringify(meta);
  const texts = ids
    ? Array.from({ length: pipeline }, (_, i) => encodeRequest(methodJson, paramsJson, ID_BASE + i, metaJson))
    : [encodeRequest(methodJson, paramsJson, undefined, metaJson)];
  const run: RunSettings = {
    host: target.host,
    port: target.port,
    method,
    params: paramsJson,
    meta: meta !== undefined,
    connections,
    pipeline,
    threads,
    ids,
    durationS,
    requestBytes: 4 + Buffer.byteLength(texts[0] as string),
  };
  return { run, texts, target, targets, probeCall: { params, meta } };
}

/** --host/--port (or the config): one server; --etcd: every serving instance of the service. */
async function targetsFrom(values: Record<string, unknown>): Promise<Target[]> {
  const found = etcdTargetFrom(values);
  if (found === null) return [await targetFrom(values)];
  const serving = await listServing(found);
  if (typeof serving === "string") throw new UsageError(serving.replace(/^forkrpc: /, ""));
  process.stderr.write(`bench: ${serving.length} instance(s) of "${found.service}": ${serving.map((t) => `${t.host}:${t.port}`).join(", ")}\n`);
  return serving;
}

interface LoadThread {
  readonly worker: Worker;
  /** Resolves with null once connected, or with why it could not connect. */
  readonly connected: Promise<string | null>;
  /** Resolves with the thread's counts, or null if it ended without them. */
  readonly done: Promise<LoadResult | null>;
  send(message: ToWorker): void;
}

function startThreads(run: RunSettings, targets: readonly Target[], texts: string[], progress: SharedArrayBuffer, tls: Target["tls"]): LoadThread[] {
  const share = Math.floor(run.connections / run.threads);
  const extra = run.connections % run.threads;
  return Array.from({ length: run.threads }, (_, slot) => {
    const settings: LoadSettings = {
      targets: targets.map(({ host, port }) => ({ host, port })),
      first: slot * share + Math.min(slot, extra),
      connections: share + (slot < extra ? 1 : 0),
      pipeline: run.pipeline,
      texts,
      ids: run.ids,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      progress,
      slot,
      tls,
    };
    const worker = new Worker(WORKER_URL, { workerData: settings });
    let onConnected: (why: string | null) => void = () => {};
    let onDone: (result: LoadResult | null) => void = () => {};
    const connected = new Promise<string | null>((resolve) => (onConnected = resolve));
    const done = new Promise<LoadResult | null>((resolve) => (onDone = resolve));
    worker.on("message", (message: FromWorker) => {
      if (message.type === "connected") onConnected(null);
      else if (message.type === "failed") onConnected(message.message);
      else onDone(message.result);
    });
    worker.on("error", (error) => {
      onConnected(`the load thread failed: ${error.message}`);
      onDone(null);
    });
    worker.on("exit", () => {
      onConnected("the load thread exited");
      onDone(null);
    });
    return { worker, connected, done, send: (message: ToWorker) => worker.postMessage(message) };
  });
}

/** Waits for every thread to connect; the first failure, if any. */
async function connected(threads: LoadThread[]): Promise<string | null> {
  const outcomes = await Promise.all(threads.map((t) => t.connected));
  return outcomes.find((why) => why !== null) ?? null;
}

/** Runs the measured window: progress each second, Ctrl-C stops early, a backstop ends it whatever happens. */
async function measured(threads: LoadThread[], run: RunSettings, progress: SharedArrayBuffer, forceProgress: boolean): Promise<LoadResult[]> {
  const stopAll = () => {
    for (const t of threads) t.send({ type: "stop" });
  };
  const backstop = setTimeout(() => {
    for (const t of threads) void t.worker.terminate();
  }, run.durationS * 1000 + REPORT_GRACE_MS);
  const line = progressLine(progress, forceProgress);
  process.once("SIGINT", stopAll);
  try {
    const results = await Promise.all(threads.map((t) => t.done));
    return results.filter((r): r is LoadResult => r !== null);
  } finally {
    line.stop();
    clearTimeout(backstop);
    process.removeListener("SIGINT", stopAll);
  }
}

/** The live line on stderr, once a second: elapsed, req/s over that second, errors. */
function progressLine(progress: SharedArrayBuffer, force: boolean): { stop(): void } {
  const tty = process.stderr.isTTY === true;
  if (!tty && !force) return { stop() {} };
  const counters = new Float64Array(progress);
  const started = performance.now();
  let last = { at: started, answers: 0 };
  const timer = setInterval(() => {
    let answers = 0;
    let errors = 0;
    for (let i = 0; i < counters.length; i += 2) {
      answers += counters[i] as number;
      errors += counters[i + 1] as number;
    }
    const now = performance.now();
    const rate = ((answers - last.answers) * 1000) / Math.max(now - last.at, 1);
    last = { at: now, answers };
    const text = `${((now - started) / 1000).toFixed(0).padStart(4)} s  ${int(rate).padStart(9)} req/s  ${int(answers).padStart(12)} answers  errors ${int(errors)}`;
    process.stderr.write(tty ? `\r\x1b[K${text}` : `${text}\n`);
  }, 1000);
  return {
    stop() {
      clearInterval(timer);
      if (tty) process.stderr.write("\r\x1b[K");
    },
  };
}
