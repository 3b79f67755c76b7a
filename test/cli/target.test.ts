/**
 * call, list and bench find the server the folder's config describes (its
 * port, its host with 0.0.0.0 meaning loopback, its auth token) when no
 * flag says otherwise, take --token and FORKRPC_TOKEN, and bench stops
 * before the load when its method would only ever answer an error.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli, serve, type Served } from "../helpers/server.ts";
import { removeTempApps, tempApp } from "../helpers/temp-app.ts";
import { freePort } from "../client/helpers.ts";

const TOKEN = "s3cret-token";

const PLUGIN = `import { Rpc } from "forkrpc";

@Rpc("secret", { description: "Needs a token." })
export class Secret {
  handle(_params: unknown, ctx: { state: { principal?: { id?: string } } }) {
    return { who: ctx.state.principal?.id ?? "token" };
  }
}
`;

let app: string;
let served: Served;
let port: number;

before(async () => {
  port = await freePort();
  app = tempApp("forkrpc-target-", {
    "rpc.config.ts": `import { defineConfig } from "forkrpc";
export default defineConfig({ host: "127.0.0.1", port: ${port}, workers: 1, plugins: ["plugins/*.ts"], auth: { tokens: { "${TOKEN}": { id: "ops", scopes: ["*"] }, "other": { scopes: [] } } } });
`,
    "any-host.config.ts": `export default { host: "0.0.0.0", port: ${port} };\n`,
    "port0.config.ts": `export default { port: 0 };\n`,
    "plugins/secret.ts": PLUGIN,
  });
  served = await serve({ cwd: app, args: ["--port", String(port)], timeoutMs: 60_000 });
});
after(async () => {
  await served?.stop();
  removeTempApps();
});

/** The environment without a token of the test runner's own. */
const ENV = { FORKRPC_TOKEN: "" };

test("call in the app's folder uses the config's port and token", async () => {
  const r = await runCli(["call", "secret"], { cwd: app, env: ENV });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { who: "ops" });
});

test("list and bench in the app's folder use the config's port too", async () => {
  const l = await runCli(["list"], { cwd: app, env: ENV });
  assert.equal(l.code, 0, l.stderr);
  assert.match(l.stdout, /^secret +secret +- +- +- +Needs a token\.$/m);
  const b = await runCli(["bench", "--method", "secret", "--connections", "1", "--pipeline", "1", "--duration", "1"], { cwd: app, env: ENV, timeoutMs: 30_000 });
  assert.equal(b.code, 0, b.stderr);
  assert.match(b.stdout, new RegExp(`secret on 127\\.0\\.0\\.1:${port}`));
  assert.match(b.stdout, /errors +none/);
});

test("a config with host 0.0.0.0 is reached on 127.0.0.1; a config with port 0 asks for --port", async () => {
  const r = await runCli(["call", "secret", "--config", "any-host.config.ts", "--token", TOKEN], { cwd: app, env: ENV });
  assert.equal(r.code, 0, r.stderr);
  const zero = await runCli(["call", "secret", "--config", "port0.config.ts"], { cwd: app, env: ENV });
  assert.equal(zero.code, 2);
  assert.match(zero.stderr, /port0\.config\.ts\) says port 0, .*pass --port/);
});

test("the config's token is not sent to a --host given by hand; --token and FORKRPC_TOKEN are", async () => {
  const none = await runCli(["call", "secret", "--host", "127.0.0.1"], { cwd: app, env: ENV });
  assert.equal(none.code, 1);
  assert.match(none.stderr, /^UNAUTHENTICATED: meta\.token is required/);
  const flag = await runCli(["call", "secret", "--host", "127.0.0.1", "--token", TOKEN], { cwd: app, env: ENV });
  assert.equal(flag.code, 0, flag.stderr);
  const env = await runCli(["call", "secret", "--host", "127.0.0.1"], { cwd: app, env: { FORKRPC_TOKEN: TOKEN } });
  assert.equal(env.code, 0, env.stderr);
  const wrong = await runCli(["call", "secret", "--token", "nope"], { cwd: app, env: ENV });
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /^UNAUTHENTICATED: the token is not valid/);
  const twice = await runCli(["call", "secret", "--token", TOKEN, "--meta", `{"token":"${TOKEN}"}`], { cwd: app, env: ENV });
  assert.equal(twice.code, 2);
  assert.match(twice.stderr, /give the token once/);
});

test("when the config chose the port, a failed connection says so", async () => {
  const other = await freePort();
  const withFlag = await runCli(["call", "secret", "--port", String(other)], { cwd: app, env: ENV });
  assert.equal(withFlag.code, 1);
  assert.match(withFlag.stderr, new RegExp(`cannot connect to 127\\.0\\.0\\.1:${other}: nothing listens there`));
  writeFileSync(join(app, "stale.config.ts"), `export default { port: ${other} };\n`);
  const fromConfig = await runCli(["call", "secret", "--config", "stale.config.ts"], { cwd: app, env: ENV });
  assert.equal(fromConfig.code, 1);
  assert.match(fromConfig.stderr, new RegExp(`cannot connect to 127\\.0\\.0\\.1:${other} \\(port from .*stale\\.config\\.ts\\): nothing listens there`));
});

test("bench of a method that does not exist stops before the load: METHOD_NOT_FOUND and a hint", async () => {
  const t0 = Date.now();
  const r = await runCli(["bench", "--method", "nope", "--duration", "60"], { cwd: app, env: ENV, timeoutMs: 50_000 });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^forkrpc: METHOD_NOT_FOUND: no method named "nope"\n {2}bench stopped before the load: .*Hint: check --method: forkrpc list shows the server's methods/);
  assert.equal(r.stdout, "", "no summary, no req/s");
  assert.ok(Date.now() - t0 < 40_000, "it did not run the 60 s load");
});

test("bench without the token a method needs stops before the load: UNAUTHENTICATED and a hint", async () => {
  const r = await runCli(["bench", "--method", "secret", "--host", "127.0.0.1"], { cwd: app, env: ENV, timeoutMs: 30_000 });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^forkrpc: UNAUTHENTICATED: meta\.token is required\n.*Hint: pass --token \(or set FORKRPC_TOKEN\)/);
  assert.equal(r.stdout, "");
});
