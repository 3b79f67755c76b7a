/**
 * `forkrpc list`: the table from a running server's rpc.discover, and the
 * same table from local plugin discovery (--local) without a server.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { runCli, serve, type Served } from "../helpers/server.ts";
import { freePort } from "../client/helpers.ts";
import { methodTable } from "../../src/cli/list.ts";

let served: Served;
before(async () => {
  served = await serve({ timeoutMs: 60_000 });
});
after(async () => {
  await served?.stop();
});

const EXAMPLES = ["echo", "greet", "ping", "stats", "sum", "rpc.discover", "rpc.health"];

test("list shows the example plugins and the built-ins, one aligned row each", async () => {
  const r = await runCli(["list", "--port", String(served.port)]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split("\n");
  assert.match(lines[0] as string, /^METHOD +OUT +PARAMS +TIMEOUT +ACCESS +DESCRIPTION$/);
  assert.deepEqual(lines.slice(1).map((l) => l.split(/\s+/)[0]), EXAMPLES);
  const greet = lines.find((l) => l.startsWith("greet ")) as string;
  assert.match(greet, /^greet +greet +\{name: string, language\?: "en"\|"fr"\|"zh"\} +1000 ms +- +Greets someone by name\.$/);
  assert.match(lines.find((l) => l.startsWith("sum ")) as string, / number\[\] /);
  assert.match(lines.find((l) => l.startsWith("ping ")) as string, /^ping +pong +- /);
  assert.match(lines.find((l) => l.startsWith("rpc.health ")) as string, / public /);
  // aligned: each row's cells start in the header's columns
  const starts = ["OUT", "PARAMS", "TIMEOUT", "ACCESS", "DESCRIPTION"].map((h) => (lines[0] as string).indexOf(h));
  for (const line of lines.slice(1)) {
    for (const at of starts) assert.match(line.slice(at - 2, at + 1), /^ {2}\S$/, `column at ${at} in "${line}"`);
  }
});

test("list --local shows the same table without a server", async () => {
  const remote = await runCli(["list", "--port", String(served.port)]);
  const local = await runCli(["list", "--local"]);
  assert.equal(local.code, 0, local.stderr);
  assert.equal(local.stdout, remote.stdout);
});

test("--json prints rpc.discover's answer, and --local --json the same", async () => {
  const remote = await runCli(["list", "--json", "--port", String(served.port)]);
  const local = await runCli(["list", "--local", "--json"]);
  const methods = JSON.parse(remote.stdout).methods as Array<{ name: string; params?: unknown }>;
  assert.deepEqual(methods.map((m) => m.name), EXAMPLES);
  assert.equal((methods.find((m) => m.name === "greet")?.params as { type: string }).type, "object");
  assert.deepEqual(JSON.parse(local.stdout), JSON.parse(remote.stdout));
});

test("no server: a clear message, exit 1; --local with --port is a usage error", async () => {
  const port = await freePort();
  const r = await runCli(["list", "--port", String(port)]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`cannot connect to 127\\.0\\.0\\.1:${port}: nothing listens there`));
  const both = await runCli(["list", "--local", "--port", "1"]);
  assert.equal(both.code, 2);
});

test("a server with auth on: rpc.discover needs a token, given with --token (issue 10)", async () => {
  const authed = await serve({ args: ["--config", "test/fixtures/introspection/auth.config.ts"], timeoutMs: 60_000 });
  try {
    const refused = await runCli(["list", "--port", String(authed.port)]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /UNAUTHENTICATED: .*--token T or FORKRPC_TOKEN/);
    assert.equal(refused.stdout, "");
    const listed = await runCli(["list", "--port", String(authed.port), "--token", "t-admin"]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^admin\.secret +admin\.secret +- +- +scopes: admin /m);
    assert.equal((await runCli(["list", "--local", "--token", "x"])).code, 2, "--local takes no --token");
  } finally {
    await authed.stop();
  }
});

test("methodTable: scopes, no methods", () => {
  assert.equal(methodTable([]), "no methods");
  const table = methodTable([{ name: "admin.reset", out: "done", scopes: ["admin", "ops"] }]);
  assert.equal(table, "METHOD       OUT   PARAMS  TIMEOUT  ACCESS             DESCRIPTION\nadmin.reset  done  -       -        scopes: admin,ops");
});
