/**
 * The app against a real server: `forkrpc serve` with the app's own config
 * (auth included) on a free port, one worker process, called through the
 * client. Run with `npm test`.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { RpcClient } from "forkrpc/client";
import type { AddNote, ListNotes } from "../plugins/notes.ts";
import type { WhoAmI } from "../plugins/whoami.ts";

type Api = { "notes.add": typeof AddNote; "notes.list": typeof ListNotes; whoami: typeof WhoAmI };

const APP = fileURLToPath(new URL("..", import.meta.url));
const FORKRPC = join(dirname(fileURLToPath(import.meta.resolve("forkrpc/package.json"))), "bin/forkrpc.js");

let proc: ReturnType<typeof spawn>;
let writer: RpcClient<Api>;
let anonymous: RpcClient<Api>;

before(async () => {
  proc = spawn(process.execPath, [FORKRPC, "serve", "--port", "0", "--workers", "0"], { cwd: APP, stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready in time:\n${out}`)), 60_000);
    proc.stdout!.on("data", (chunk) => {
      out += chunk;
      const ready = /forkrpc ready: .* on \S+:(\d+) /.exec(out);
      if (ready) {
        clearTimeout(timer);
        resolve(Number(ready[1]));
      }
    });
    proc.on("exit", (code) => reject(new Error(`forkrpc serve exited (${code}) before it was ready:\n${out}`)));
  });
  writer = new RpcClient<Api>({ port, meta: { token: "dev-writer" } });
  anonymous = new RpcClient<Api>({ port });
});

after(async () => {
  await Promise.all([writer?.close(), anonymous?.close()]);
  if (proc?.exitCode === null) {
    proc.kill("SIGTERM");
    await once(proc, "exit");
  }
});

test("a writer adds notes; tags default to []", async () => {
  const note = await writer.call("notes.add", { text: "first" });
  assert.deepEqual(note, { id: 1, text: "first", tags: [], by: "writer" });
  await writer.call("notes.add", { text: "second", tags: ["x"] });
  assert.deepEqual((await writer.call("notes.list", { tag: "x" })).map((n) => n.text), ["second"]);
});

test("the schema refuses bad params before the handler runs", async () => {
  await assert.rejects(writer.call("notes.add", { text: "" }), { code: "INVALID_PARAMS" });
});

test("no token: UNAUTHENTICATED", async () => {
  await assert.rejects(anonymous.call("whoami"), { code: "UNAUTHENTICATED" });
});
