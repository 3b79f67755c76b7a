/**
 * An RpcServer in the test process, for the unit tests of connection.ts and
 * server.ts: methods made by hand, a config with the defaults and the limits
 * a test names, listening on 127.0.0.1 port 0, and raw peers (wire.ts) that
 * talk to it. No fork: a mutant of those files costs a second, not a boot.
 * closeAll() (in an afterEach) destroys every peer and cuts every server.
 */
import { afterEach, beforeEach, mock } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import { resolveConfig, validateConfig, type ForkrpcConfig, type ServerConfig } from "../../src/config.ts";
import type { MethodEntry, Registry } from "../../src/plugins/registry.ts";
import { Activity } from "../../src/server/activity.ts";
import { RpcServer } from "../../src/server/server.ts";
import type { RequestContext } from "../../src/request/request-context.ts";
import { RawPeer } from "./wire.ts";
import { within } from "./within.ts";

type Handle = (params: any, ctx: RequestContext) => unknown;

/** A method without middleware; its answers' `out` is its name. */
export function method(name: string, handle: Handle, index = 0, extra: Partial<MethodEntry> = {}): MethodEntry {
  const meta = { name, out: name };
  return { name, meta, chain: null, container: {}, defaultTimeoutMs: 0, index, outJson: JSON.stringify(name), handler: { handle }, file: "x.ts", ...extra } as unknown as MethodEntry;
}

export function registry(...methods: MethodEntry[]): Registry {
  return new Map(methods.map((m) => [m.name, m]));
}

/** A promise and its resolve, for a handler that answers when the test says. */
export function later<T = unknown>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

export interface Started {
  server: RpcServer;
  port: number;
  activity: Activity;
  /** A raw peer on this server, destroyed by closeAll(). */
  open(): Promise<RawPeer>;
}

const servers: RpcServer[] = [];
const peers: RawPeer[] = [];

export function config(file: ForkrpcConfig = {}): ServerConfig {
  return resolveConfig(validateConfig(file, "test"), {}, undefined, "/tmp");
}

export function newServer(methods: Registry, file: ForkrpcConfig = {}, activity = new Activity()): RpcServer {
  // No request logger: no handler here logs, and pino's stderr stream would outlive the test.
  const server = new RpcServer(methods, config(file), activity, {} as Logger);
  servers.push(server);
  return server;
}

export async function start(methods: Registry, file: ForkrpcConfig = {}, activity = new Activity()): Promise<Started> {
  const server = newServer(methods, file, activity);
  const { port } = await server.listen("127.0.0.1", 0);
  return { server, port, activity, open: () => openPeer(port) };
}

export async function openPeer(port: number): Promise<RawPeer> {
  const peer = await RawPeer.open(port, "127.0.0.1");
  peers.push(peer);
  return peer;
}

/** Keep for closeAll() a peer opened some other way. */
export function track(peer: RawPeer): RawPeer {
  peers.push(peer);
  return peer;
}

export async function closeAll(): Promise<void> {
  for (const p of peers.splice(0)) p.close();
  await within(Promise.all(servers.splice(0).map((s) => s.drain("test over", 0))), 5_000, "closing the test's servers");
}

/** Polls `cond` every few ms until it holds (true) or `timeoutMs` passes (false). */
export async function until(cond: () => boolean, timeoutMs = 3_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() >= deadline) return false;
    await sleep(5);
  }
  return true;
}

export { within };

/**
 * For a whole test file: the framework's log lines (on process.stderr) are
 * kept in the array returned instead of printed, and every server and peer
 * is closed after each test.
 */
export function inProcess(): string[] {
  const logged: string[] = [];
  beforeEach(() => {
    logged.length = 0;
    mock.method(process.stderr, "write", (chunk: string | Uint8Array) => {
      logged.push(String(chunk));
      return true;
    });
  });
  afterEach(async () => {
    mock.restoreAll();
    await closeAll();
  });
  return logged;
}
