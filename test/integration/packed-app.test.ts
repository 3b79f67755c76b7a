/**
 * The example app (examples/app) as a user gets it: forkrpc packed into a
 * tarball, installed into a copy of the app in a temp folder, typechecked
 * and built with the app's own scripts, served compiled and from source,
 * and every method called with the typed client and with `forkrpc call`.
 *
 * Installing needs the npm registry for forkrpc's own dependencies (the
 * cache is preferred). Without it the test is skipped, saying so, unless
 * FORKRPC_CI is set: in CI it must run.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { ROOT } from "../helpers/server.ts";

const EXAMPLE = join(ROOT, "examples/app");
const work = mkdtempSync(join(tmpdir(), "forkrpc-packed-"));
const app = join(work, "app");
const started: Array<ReturnType<typeof spawn>> = [];
after(() => {
  for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  rmSync(work, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** This process's environment, less what makes a nested `node --test` report to this runner instead of printing. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete e.NODE_TEST_CONTEXT;
  return e;
}

function run(cmd: string, args: string[], options: { cwd: string; env?: Record<string, string>; timeoutMs?: number }): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: options.cwd, env: childEnv(options.env), timeout: options.timeoutMs ?? 120_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

function ok(r: Run, what: string): string {
  assert.equal(r.code, 0, `${what} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const NPM = process.platform === "win32" ? "npm.cmd" : "npm";
// The app's scripts, run as npm would, with this node first on the PATH.
const env = { PATH: `${join(process.execPath, "..")}:${process.env.PATH}`, npm_config_update_notifier: "false" };

/** Starts the app's server on a free port; resolves with its port and a stop(). */
async function serve(args: string[], extraEnv: Record<string, string> = {}, folder = app) {
  const bin = join(folder, "node_modules/forkrpc/bin/forkrpc.js");
  const proc = spawn(process.execPath, [bin, "serve", "--port", "0", "--workers", "1", ...args], {
    cwd: folder,
    env: childEnv(extraEnv),
    stdio: ["ignore", "pipe", "pipe"],
  });
  started.push(proc);
  let out = "";
  let err = "";
  proc.stderr.on("data", (d) => (err += d));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready in time:\n${out}\n${err}`)), 60_000);
    proc.stdout.on("data", (d) => {
      out += d;
      const m = /forkrpc ready: 5 methods on 127\.0\.0\.1:(\d+) with 1 worker/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    proc.on("exit", (code) => reject(new Error(`serve exited (${code}) before ready:\n${out}\n${err}`)));
  });
  return {
    port,
    stderr: () => err,
    stop: () =>
      new Promise<number | null>((resolve) => {
        proc.on("exit", (code) => resolve(code));
        proc.kill("SIGTERM");
      }),
  };
}

const EXPECTED_CLIENT = [
  { version: { app: "forkrpc-example-app", node: process.version } },
  { whoami: { principal: { id: "writer", scopes: ["notes:write"] }, peer: "127.0.0.1" } },
  { "notes.add": { id: 1, text: "buy milk", tags: [], by: "writer" } },
  { "notes.add": { id: 2, text: "ship it", tags: ["work"], by: "writer" } },
  {
    "notes.list": [
      { id: 1, text: "buy milk", tags: [], by: "writer" },
      { id: 2, text: "ship it", tags: ["work"], by: "writer" },
    ],
  },
  { "notes.list": [{ id: 2, text: "ship it", tags: ["work"], by: "writer" }] },
  // Audited (a @Use-only class) ran once per call, not twice.
  { "notes.audit": { "notes.add": 2, "notes.list": 2 } },
  { refused: "PERMISSION_DENIED" },
];

async function callEverything(port: number): Promise<void> {
  const client = ok(await run(process.execPath, ["--import", "forkrpc/register", "client.ts", String(port)], { cwd: app }), "the client");
  assert.deepEqual(client.trim().split("\n").map((l) => JSON.parse(l)), EXPECTED_CLIENT);

  const bin = join(app, "node_modules/forkrpc/bin/forkrpc.js");
  const cli = async (method: string, params: string | undefined, token: string | undefined) => {
    const args = [bin, "call", method, ...(params === undefined ? [] : [params]), "--port", String(port)];
    if (token !== undefined) args.push("--meta", JSON.stringify({ token }));
    return run(process.execPath, args, { cwd: app });
  };
  assert.deepEqual(JSON.parse(ok(await cli("version", undefined, undefined), "call version")).app, "forkrpc-example-app");
  assert.equal(JSON.parse(ok(await cli("whoami", undefined, "dev-reader"), "call whoami")).principal.id, "reader");
  assert.deepEqual(JSON.parse(ok(await cli("notes.add", '{"text":"from the CLI"}', "dev-writer"), "call notes.add")), {
    id: 3,
    text: "from the CLI",
    tags: [],
    by: "writer",
  });
  assert.equal(JSON.parse(ok(await cli("notes.list", undefined, "dev-reader"), "call notes.list")).length, 3);
  assert.deepEqual(JSON.parse(ok(await cli("notes.audit", undefined, "dev-reader"), "call notes.audit")), { "notes.add": 3, "notes.list": 3 });
  const refused = await cli("notes.list", undefined, undefined);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr + refused.stdout, /UNAUTHENTICATED/);
}

test("the example app on the packed tarball: typecheck, build, serve compiled and from source, call every method", { timeout: 300_000 }, async (t) => {
  const at = Date.now();
  const step = (what: string) => t.diagnostic(`${what}: ${((Date.now() - at) / 1000).toFixed(1)} s`);

  // `npm test` builds dist/ first; packing without scripts reuses it instead of building twice.
  const built = existsSync(join(ROOT, "dist/cli/main.js"));
  const packed = ok(await run(NPM, ["pack", "--pack-destination", work, ...(built ? ["--ignore-scripts"] : []), "--silent"], { cwd: ROOT, env, timeoutMs: 180_000 }), "npm pack");
  const tarball = join(work, packed.trim().split("\n").pop() as string);
  step("packed");
  const listing = ok(await run("tar", ["tzf", tarball], { cwd: work }), "tar");
  assert.match(listing, /^package\/dist\/cli\/main\.js$/m, "the tarball carries dist/");

  cpSync(EXAMPLE, app, { recursive: true, filter: (src) => !/[/\\](node_modules|build|vendor)$/.test(src) });
  // In vendor/, as the example's Dockerfile expects: the lock file then names a file inside the app.
  mkdirSync(join(app, "vendor"));
  cpSync(tarball, join(app, "vendor", basename(tarball)));
  const install = await run(NPM, ["install", "--prefer-offline", "--no-audit", "--no-fund", `./vendor/${basename(tarball)}`], { cwd: app, env, timeoutMs: 240_000 });
  if (install.code !== 0 && /E(NOTFOUND|AI_AGAIN|CONNREFUSED|CONNRESET|TIMEDOUT)|network/i.test(install.stderr) && process.env.FORKRPC_CI === undefined) {
    t.skip(`the npm registry is unreachable, and FORKRPC_CI is not set: ${install.stderr.split("\n")[0]}`);
    return;
  }
  ok(install, "npm install of the tarball");
  step("installed");
  assert.ok(!readdirSync(join(app, "node_modules/forkrpc")).includes("node_modules"), "forkrpc's dependencies are the app's, hoisted");

  const [typecheck, build] = await Promise.all([
    run(NPM, ["run", "typecheck", "--silent"], { cwd: app, env }),
    run(NPM, ["run", "build", "--silent"], { cwd: app, env }),
  ]);
  ok(typecheck, "npm run typecheck");
  ok(build, "npm run build");
  assert.match(readFileSync(join(app, "build/plugins/notes.js"), "utf8"), /from "\.\.\/services\/note-store\.js"/, "./x.ts imports are rewritten to .js");
  step("typechecked and built");

  // Compiled, as `npm start` serves it: plain node, no TypeScript loader.
  const compiled = await serve(["--config", "build/rpc.config.js"], { FORKRPC_TS_LOADER: "off" });
  await callEverything(compiled.port);
  assert.equal(await compiled.stop(), 0);
  step("served compiled");

  // From source, as `forkrpc dev` and `forkrpc serve` in the app folder do.
  const source = await serve([]);
  await callEverything(source.port);
  assert.match(source.stderr(), /"msg":"note added"/, "handlers' ctx.log writes JSON lines");
  assert.equal(await source.stop(), 0);
  step("served from source");

  const tests = ok(await run(NPM, ["test", "--silent"], { cwd: app, env, timeoutMs: 120_000 }), "the app's npm test");
  // Node 23+ prints the spec reporter's "ℹ pass 3" where Node 20 and 22 print tap's "# pass 3".
  assert.match(tests, /(?:#|ℹ) pass 3\n/);
  step("the app's own test");

  // The Dockerfile's run stage, without docker: its files, production dependencies only, compiled.
  const dockerfile = readFileSync(join(app, "Dockerfile"), "utf8");
  const image = join(work, "image");
  mkdirSync(image);
  for (const [, sources] of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
    for (const source of (sources as string).split(" ")) {
      assert.ok(existsSync(join(app, source)), `the Dockerfile copies ${source}, which the app does not have`);
      if (["package.json", "package-lock.json", "vendor"].includes(source)) cpSync(join(app, source), join(image, source), { recursive: true });
    }
  }
  ok(await run(NPM, ["ci", "--omit=dev", "--prefer-offline", "--no-audit", "--no-fund"], { cwd: image, env, timeoutMs: 240_000 }), "npm ci --omit=dev");
  assert.ok(!existsSync(join(image, "node_modules/typescript")), "no devDependencies in the image");
  cpSync(join(app, "build"), join(image, "build"), { recursive: true });
  const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)?.[1] ?? "null") as string[];
  assert.deepEqual(cmd.slice(0, 2), ["node", "node_modules/forkrpc/bin/forkrpc.js"]);
  const prod = await serve(cmd.slice(2).filter((a) => a !== "--host" && a !== "0.0.0.0").slice(1), { FORKRPC_TS_LOADER: "off", NODE_ENV: "production" }, image);
  const version = await run(process.execPath, [join(image, "node_modules/forkrpc/bin/forkrpc.js"), "call", "version", "--port", String(prod.port)], { cwd: image });
  assert.equal(JSON.parse(ok(version, "call version in the image")).app, "forkrpc-example-app");
  assert.equal(await prod.stop(), 0);
  step("the Dockerfile's run stage");
});
