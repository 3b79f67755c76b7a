/**
 * A handler thread's entry (started by pool.ts). It imports the files of the
 * offloaded handlers (through the TypeScript loader, like any plugin),
 * builds them with a container of its own (so a @singleton is one per
 * thread), runs their start hooks, and then runs one call at a time: params
 * in and result out as JSON text.
 */
import "reflect-metadata";
import { pathToFileURL } from "node:url";
import { parentPort, workerData } from "node:worker_threads";
import { container as rootContainer, type InjectionToken } from "tsyringe";
import { ServerConfig } from "../config.ts";
import { rpcMetaOf } from "../decorators/rpc.ts";
import { BootError, describe, RpcError, stackOf, toWireError } from "../errors.ts";
import { setLogRole } from "../log.ts";
import { isThenable } from "../middleware/compose.ts";
import { shownPath } from "../plugins/discover.ts";
import { construct, dependencyTokens } from "../plugins/injection.ts";
import { collectHookInstances, runStartHooks, runStopHooks } from "../plugins/lifecycle.ts";
import type { HandlerClass, RpcHandler } from "../request/method.ts";
import type { CallMessage, FromThread, ThreadData, ThreadRpcError, ToThread } from "../threads/messages.ts";
import { ThreadContext } from "../threads/thread-context.ts";

const data = workerData as ThreadData;
const port = parentPort!;
const post = (msg: FromThread) => port.postMessage(msg);
const running = new Map<number, ThreadContext>();

setLogRole("thread");

interface Built {
  readonly handlers: ReadonlyMap<string, RpcHandler>;
  readonly hooked: readonly object[];
}

async function build(): Promise<Built> {
  const wanted = new Set(data.methods);
  const found = new Map<string, { cls: HandlerClass; file: string }>();
  for (const file of data.files) {
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    } catch (cause) {
      throw new BootError("PLUGIN_IMPORT_FAILED", `${shownPath(data.pluginRoot, file)}: ${describe(cause)}`);
    }
    for (const value of Object.values(mod)) {
      const meta = rpcMetaOf(value);
      if (meta?.offload === true && wanted.has(meta.name) && !found.has(meta.name)) found.set(meta.name, { cls: value as HandlerClass, file });
    }
  }
  const missing = data.methods.filter((name) => !found.has(name));
  if (missing.length > 0) throw new BootError("PLUGIN_NOT_EXPORTED", `offloaded methods not exported by their files: ${missing.join(", ")}`);

  const container = rootContainer.createChildContainer();
  container.register(ServerConfig as unknown as InjectionToken<unknown>, { useValue: JSON.parse(data.configJson) });
  const tokens = new Set<unknown>();
  for (const { cls } of found.values()) {
    dependencyTokens(cls, tokens);
    tokens.add(cls);
  }
  const hooked = collectHookInstances(container, tokens);
  const handlers = new Map<string, RpcHandler>();
  for (const [name, { cls, file }] of found) handlers.set(name, construct(cls as new () => RpcHandler, container, shownPath(data.pluginRoot, file), cls.name));
  await runStartHooks(hooked, data.hookTimeoutMs);
  return { handlers, hooked };
}

async function call(handler: RpcHandler, msg: CallMessage): Promise<void> {
  const ctx = new ThreadContext(msg);
  running.set(msg.seq, ctx);
  try {
    let value = handler.handle(ctx.params, ctx);
    if (isThenable(value)) value = await value;
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch (error) {
      post({ kind: "unencodable", seq: msg.seq, reason: describe(error) });
      return;
    }
    post({ kind: "result", seq: msg.seq, json: json ?? "null" });
  } catch (thrown) {
    post(failure(msg.seq, thrown));
  } finally {
    running.delete(msg.seq);
  }
}

/** As the main thread would answer it: an RpcError's code, message and data; anything else INTERNAL, with its stack for the log. */
function failure(seq: number, thrown: unknown): FromThread {
  if (!RpcError.is(thrown)) return { kind: "threw", seq, stack: stackOf(thrown) };
  const wire = toWireError(thrown);
  let error: ThreadRpcError = { code: wire.code, message: wire.message };
  if (wire.data !== undefined) {
    try {
      const data = JSON.stringify(wire.data);
      if (data !== undefined) error = { ...error, data };
    } catch {
      // data that cannot be encoded is left out, as encodeError does
    }
  }
  return { kind: "rpc-error", seq, error };
}

try {
  const { handlers, hooked } = await build();
  port.on("message", (msg: ToThread) => {
    if (msg.kind === "call") {
      const handler = handlers.get(msg.method);
      if (handler === undefined) post({ kind: "rpc-error", seq: msg.seq, error: { code: "METHOD_NOT_FOUND", message: `no offloaded method ${msg.method}` } });
      else void call(handler, msg);
    } else if (msg.kind === "abort") {
      running.get(msg.seq)?.abort();
    } else {
      void runStopHooks(hooked, data.hookTimeoutMs).finally(() => process.exit(0));
    }
  });
  post({ kind: "ready" });
} catch (error) {
  const boot = error instanceof BootError ? error : new BootError("WORKER_FAILED", describe(error));
  post({ kind: "boot-failed", code: boot.code, message: boot.message });
}
