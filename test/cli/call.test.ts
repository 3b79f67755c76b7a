/**
 * `forkrpc call` through the real CLI against real servers: the repo's
 * rpc.config.ts (the example plugins) and the client fixtures (sleep,
 * recordMeta), both on port 0.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { runCli, serve, type Served } from "../helpers/server.ts";
import { CONFIG as CLIENT_FIXTURES, freePort } from "../client/helpers.ts";

describe("forkrpc call against the example plugins", () => {
  let served: Served;
  before(async () => {
    served = await serve({ timeoutMs: 60_000 });
  });
  after(async () => {
    await served?.stop();
  });
  const call = (...args: string[]) => runCli(["call", ...args, "--port", String(served.port)]);

  test(`call ping '"hi"' prints "hi" as JSON and exits 0`, async () => {
    const r = await call("ping", '"hi"');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '"hi"\n');
  });

  test("the result is pretty JSON; --out adds the reply type", async () => {
    const r = await call("sum", "[1, 2, 3.5]");
    assert.equal(r.stdout, "6.5\n");
    const greet = await call("greet", '{"name":"ada","language":"fr"}', "--out");
    assert.equal(greet.code, 0, greet.stderr);
    assert.deepEqual(JSON.parse(greet.stdout), { out: "greet", result: { greeting: "Bonjour, ada!", caller: "127.0.0.1" } });
    assert.match(greet.stdout, /^\{\n {2}"out": "greet",\n/);
  });

  test("a bad method exits 1 with METHOD_NOT_FOUND on stderr and nothing on stdout", async () => {
    const r = await call("no.such.method");
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^METHOD_NOT_FOUND: /);
  });

  test("an error's data follows its code and message", async () => {
    const r = await call("greet", '{"name":5}');
    assert.equal(r.code, 1);
    const [first, ...rest] = r.stderr.split("\n");
    assert.match(first as string, /^INVALID_PARAMS: /);
    assert.deepEqual(JSON.parse(rest.join("\n")).issues[0].path, ["name"]);
  });

  test("params or meta that are not JSON are a usage error (exit 2)", async () => {
    const bare = await call("ping", "hi");
    assert.equal(bare.code, 2);
    assert.match(bare.stderr, /params is not valid JSON \(a string needs JSON quotes: '"hi"'\)/);
    const meta = await call("ping", "1", "--meta", "[1]");
    assert.equal(meta.code, 2);
    assert.match(meta.stderr, /--meta must be a JSON object/);
    const none = await runCli(["call"]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /call needs a method name/);
  });
});

describe("forkrpc call with --meta and --timeout", () => {
  let served: Served;
  before(async () => {
    served = await serve({ args: ["--config", CLIENT_FIXTURES], timeoutMs: 60_000 });
  });
  after(async () => {
    await served?.stop();
  });
  const call = (...args: string[]) => runCli(["call", ...args, "--port", String(served.port)]);

  test("--timeout shorter than the handler: DEADLINE_EXCEEDED in about that time; the server saw the meta and the deadline", async () => {
    const started = performance.now();
    // The handler sleeps 10 s; the CLI's own start takes 1-2 s on a loaded
    // machine, so 7 s tells "gave up at the deadline" from "waited for it".
    const r = await call("recordMeta", '{"key":"cli-deadline","ms":10000}', "--timeout", "300", "--meta", '{"trace":"t-1"}');
    const took = performance.now() - started;
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /^DEADLINE_EXCEEDED: /);
    assert.ok(took < 7_000, `took ${Math.round(took)} ms, handler sleeps 10000 ms`);
    const seen = await call("seenMeta", '{"key":"cli-deadline"}');
    assert.equal(seen.code, 0, seen.stderr);
    const meta = JSON.parse(seen.stdout) as { trace: string; timeoutMs: number };
    assert.equal(meta.trace, "t-1");
    assert.ok(meta.timeoutMs > 0 && meta.timeoutMs <= 300, `meta.timeoutMs ${meta.timeoutMs}`);
  });

  test("a --timeout long enough lets the same call finish", async () => {
    const r = await call("sleep", '{"ms":50,"tag":"x"}', "--timeout", "5000");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).tag, "x");
  });
});

test("connection refused: a clear message at once, exit 1", async () => {
  const port = await freePort();
  const started = performance.now();
  const r = await runCli(["call", "ping", '"hi"', "--port", String(port)]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, "");
  assert.equal(r.stderr, `forkrpc: cannot connect to 127.0.0.1:${port}: nothing listens there (is the server running? forkrpc serve)\n`);
  assert.ok(performance.now() - started < 8_000, "not a 10 s client timeout");
});
