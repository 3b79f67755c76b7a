/**
 * Reading the admin server in tests: its address from the master's log
 * line, /metrics parsed into samples, sums over label matches, and bounded
 * bursts of calls.
 */
import { request as httpGet } from "node:http";
import { RawPeer, request } from "./wire.ts";
import { waitFor } from "./supervision.ts";

/** The admin server's base URL, from the master's "admin server on URL" line. */
export function adminUrl(stderr: () => string, timeoutMs = 10_000): Promise<string> {
  return waitFor("the admin server line", () => /admin server on (http:\/\/\S+\/)/.exec(stderr())?.[1], timeoutMs);
}

export async function get(url: string, timeoutMs = 5_000): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { timeout: timeoutMs }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"]), body }));
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on("error", reject);
    req.end();
  });
}

export interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** The samples of a Prometheus text exposition (comments skipped). */
export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, "$1");
    out.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return out;
}

/** The sum of the samples named `name` whose labels include `match`. */
export function sum(samples: readonly Sample[], name: string, match: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

export async function scrape(base: string): Promise<Sample[]> {
  const res = await get(`${base}metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return parseMetrics(res.body);
}

/** Sends `count` requests for `method` pipelined on `connections` connections, and reads every answer. */
export async function burst(port: number, method: string, count: number, connections = 4): Promise<Array<{ out: string; result: any }>> {
  const peers = await Promise.all(Array.from({ length: connections }, () => RawPeer.open(port)));
  try {
    const shares = peers.map((_, i) => Math.floor(count / connections) + (i < count % connections ? 1 : 0));
    return (
      await Promise.all(
        peers.map(async (peer, i) => {
          const n = shares[i] as number;
          peer.write(Buffer.concat(Array.from({ length: n }, () => request(method, { n: i }))));
          const answers = [];
          for (let k = 0; k < n; k++) answers.push(await peer.read(10_000));
          return answers;
        }),
      )
    ).flat();
  } finally {
    for (const p of peers) p.close();
  }
}
