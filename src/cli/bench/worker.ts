/**
 * A bench load thread (worker_threads): opens its share of the connections,
 * says so, loads them from "start" until the end time (or "stop"), then
 * sends its counts and cuts the connections. It imports only the framing
 * and its own counting: nothing of the server, nothing of RpcClient.
 */
import { parentPort, workerData } from "node:worker_threads";
import { LoadConnection } from "./connection.ts";
import type { FromWorker, LoadSettings, ToWorker } from "./messages.ts";
import { Tally } from "./tally.ts";

const port = parentPort;
if (port === null) throw new Error("bench/worker.ts runs as a worker thread");
const settings = workerData as LoadSettings;
const tally = new Tally(settings.progress, settings.slot);
const conns: LoadConnection[] = [];
let timer: NodeJS.Timeout | null = null;
let done = false;

function post(message: FromWorker): void {
  port!.postMessage(message);
}

async function connectAll(): Promise<void> {
  const { targets, first, connectTimeoutMs, texts, pipeline, ids, tls } = settings;
  const opening = Array.from({ length: settings.connections }, (_, i) => {
    const target = targets[(first + i) % targets.length] as LoadSettings["targets"][number];
    return LoadConnection.open(target.host, target.port, connectTimeoutMs, tls).then((socket) => {
      conns.push(new LoadConnection(socket, tally, texts, pipeline, ids));
    });
  });
  const outcomes = await Promise.allSettled(opening);
  const failed = outcomes.find((o) => o.status === "rejected");
  if (failed !== undefined) {
    for (const conn of conns) conn.finish();
    const reason = (failed as PromiseRejectedResult).reason as Error;
    post({ type: "failed", message: reason.message });
    port!.close();
    return;
  }
  post({ type: "connected" });
}

function start(endAt: number): void {
  // Both threads' epoch clocks: performance.timeOrigin differs per thread, the sum does not.
  tally.endAt = endAt - performance.timeOrigin;
  const now = performance.now();
  for (const conn of conns) conn.start(now);
  timer = setTimeout(finish, Math.max(0, tally.endAt - now));
}

function finish(): void {
  if (done) return;
  done = true;
  if (timer !== null) clearTimeout(timer);
  const stoppedAt = Math.min(performance.now(), tally.endAt);
  tally.endAt = Math.min(tally.endAt, performance.now());
  for (const conn of conns) conn.finish();
  post({ type: "done", result: tally.result(performance.timeOrigin + stoppedAt) });
  port!.close();
}

port.on("message", (message: ToWorker) => {
  if (message.type === "start") start(message.endAt);
  else if (message.type === "stop") finish();
});

await connectAll();
