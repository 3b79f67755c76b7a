import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, realpath, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig, resolveConfig, SUPERVISION_DEFAULTS, validateConfig } from "../src/config.ts";
import { connectionsFor, descriptorLimit } from "../src/descriptor-limit.ts";

/** The hardening limits, set away from their defaults. */
const NEW_LIMITS = { maxConnections: 7, idleTimeoutMs: 60_000, maxWriteBufferBytes: 4096, writeTimeoutMs: 0 };

let dir: string;
before(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), "forkrpc-config-")));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A fresh folder under the test's temp folder. */
async function folder(name: string): Promise<string> {
  const path = join(dir, name);
  await mkdir(path, { recursive: true });
  return path;
}

function isBootError(code: string, ...mentions: string[]) {
  return (err: unknown): boolean => {
    const e = err as { code?: unknown; message?: unknown; name?: unknown };
    assert.equal(e.name, "BootError");
    assert.equal(e.code, code, String(e.message));
    for (const m of mentions) assert.ok(String(e.message).includes(m), `message ${JSON.stringify(e.message)} should name ${m}`);
    return true;
  };
}

// ---- defaults and precedence ------------------------------------------------

test("defaults: 127.0.0.1:8080, one worker per CPU, plugins/**/*.{ts,js}, 1 MiB frames, 10 s read timeout", () => {
  const config = resolveConfig(validateConfig({}, "test"), {}, undefined, "/some/cwd");
  assert.deepEqual(config, {
    host: "127.0.0.1",
    port: 8080,
    workers: availableParallelism(),
    plugins: ["plugins/**/*.{ts,js}"],
    pluginRoot: "/some/cwd",
    configFile: undefined,
    limits: {
      maxFrameBytes: 1048576,
      readTimeoutMs: 10000,
      maxJsonDepth: 512,
      maxPipelined: 1024,
      maxInflightPerConnection: 0,
      maxInflightPerWorker: 0,
      maxConnections: connectionsFor(descriptorLimit()),
      idleTimeoutMs: 0,
      maxWriteBufferBytes: 524288,
      writeTimeoutMs: 30000,
    },
    shutdown: { graceMs: 30000, goawayLingerMs: 1000, quietMs: 100 },
    accept: "shared",
    pidFile: undefined,
    tls: { cert: undefined, key: undefined, ca: undefined, clientAuth: "none", minVersion: "TLSv1.2" },
    middleware: [],
    auth: undefined,
    accessLog: false,
    admin: undefined,
    deadline: { defaultTimeoutMs: 0 },
    introspection: { discover: true, health: true, public: ["rpc.health"] },
    registry: { etcd: { endpoints: undefined, prefix: "/forkrpc", leaseTtlS: 10 }, service: "default", advertise: undefined, weight: 1 },
    supervision: SUPERVISION_DEFAULTS,
    threads: { perWorker: 1, maxQueue: 16, idleTimeoutMs: 30_000 },
  });
  assert.deepEqual(SUPERVISION_DEFAULTS, {
    workerTimeoutMs: 30000,
    heartbeatMs: 1000,
    bootTimeoutMs: 60000,
    respawnDelayMs: 100,
    respawnDelayMaxMs: 10000,
    minUptimeMs: 10000,
    crashLoopLimit: 5,
    maxRequests: 0,
    maxRequestsJitter: 0,
    maxRssMb: 0,
    hookTimeoutMs: 10000,
  });
});

test("threads: --threads sets threads.perWorker over the file's, and the file's other threads keys stay", () => {
  const config = resolveConfig({ threads: { perWorker: 2, maxQueue: 4 } }, { threads: { perWorker: 3 } }, undefined, "/x");
  assert.deepEqual(config.threads, { perWorker: 3, maxQueue: 4, idleTimeoutMs: 30_000 });
  assert.deepEqual(resolveConfig({ threads: { perWorker: 2 } }, {}, undefined, "/x").threads.perWorker, 2);
});

test("supervision: keys from the file override their defaults one by one; accept and pidFile resolve", () => {
  const file = validateConfig(
    { supervision: { maxRequests: 500, heartbeatMs: 250 }, accept: "round-robin", pidFile: "run/app.pid" },
    "test",
  );
  const config = resolveConfig(file, {}, "/app/rpc.config.ts", "/cwd");
  assert.equal(config.supervision.maxRequests, 500);
  assert.equal(config.supervision.heartbeatMs, 250);
  assert.equal(config.supervision.workerTimeoutMs, 30000);
  assert.equal(config.accept, "round-robin");
  assert.equal(config.pidFile, "/app/run/app.pid");
  assert.equal(resolveConfig(file, { pidFile: "x.pid", accept: "shared" }, "/app/rpc.config.ts", "/cwd").pidFile, "/cwd/x.pid");
  assert.throws(() => validateConfig({ accept: "random" }, "test"), /"accept" must be one of "shared", "round-robin"/);
  assert.throws(() => validateConfig({ supervision: { maxRequest: 5 } }, "test"), /unknown config key "supervision.maxRequest"/);
});

test("values from the file win over the defaults", () => {
  const file = validateConfig(
    {
      host: "0.0.0.0",
      port: 0,
      workers: 0,
      plugins: ["handlers/*.ts"],
      limits: { ...NEW_LIMITS, maxFrameBytes: 1024, readTimeoutMs: 50, maxJsonDepth: 10, maxPipelined: 3, maxInflightPerConnection: 0, maxInflightPerWorker: 0 },
      shutdown: { graceMs: 0, goawayLingerMs: 5, quietMs: 7 },
    },
    "test",
  );
  const config = resolveConfig(file, {}, "/app/rpc.config.ts", "/cwd");
  assert.equal(config.host, "0.0.0.0");
  assert.equal(config.port, 0);
  assert.equal(config.workers, 0);
  assert.deepEqual(config.plugins, ["handlers/*.ts"]);
  assert.deepEqual(config.limits, { ...NEW_LIMITS, maxFrameBytes: 1024, readTimeoutMs: 50, maxJsonDepth: 10, maxPipelined: 3, maxInflightPerConnection: 0, maxInflightPerWorker: 0 });
  assert.deepEqual(config.shutdown, { graceMs: 0, goawayLingerMs: 5, quietMs: 7 });
  assert.equal(config.configFile, "/app/rpc.config.ts");
});

test("a partial limits block keeps the other defaults", () => {
  const config = resolveConfig({ limits: { readTimeoutMs: 5 } }, {}, undefined, "/cwd");
  assert.deepEqual(config.limits, {
    maxFrameBytes: 1048576,
    readTimeoutMs: 5,
    maxJsonDepth: 512,
    maxPipelined: 1024,
    maxInflightPerConnection: 0,
    maxInflightPerWorker: 0,
    maxConnections: connectionsFor(descriptorLimit()),
    idleTimeoutMs: 0,
    maxWriteBufferBytes: 524288,
    writeTimeoutMs: 30000,
  });
});

test("command-line overrides win over the file", () => {
  const file = { host: "0.0.0.0", port: 1, workers: 2, plugins: ["a/*.ts"] };
  const config = resolveConfig(file, { host: "::1", port: 2, workers: 3, plugins: ["b/*.ts"] }, "/app/rpc.config.ts", "/cwd");
  assert.equal(config.host, "::1");
  assert.equal(config.port, 2);
  assert.equal(config.workers, 3);
  assert.deepEqual(config.plugins, ["b/*.ts"]);
  // port 0 and workers 0 are real values, not "absent"
  const zero = resolveConfig(file, { port: 0, workers: 0 }, undefined, "/cwd");
  assert.equal(zero.port, 0);
  assert.equal(zero.workers, 0);
});

test("plugin root: the config file's folder, or cwd when --plugins overrides, or cwd without a file", () => {
  assert.equal(resolveConfig({}, {}, "/app/conf/rpc.config.ts", "/cwd").pluginRoot, "/app/conf");
  assert.equal(resolveConfig({ plugins: ["x/*.ts"] }, {}, "/app/conf/rpc.config.ts", "/cwd").pluginRoot, "/app/conf");
  assert.equal(resolveConfig({}, { plugins: ["p/*.ts"] }, "/app/conf/rpc.config.ts", "/cwd").pluginRoot, "/cwd");
  assert.equal(resolveConfig({}, { port: 1 }, "/app/conf/rpc.config.ts", "/cwd").pluginRoot, "/app/conf");
  assert.equal(resolveConfig({}, {}, undefined, "/cwd").pluginRoot, "/cwd");
});

test("invalid overrides are CONFIG_INVALID too", () => {
  assert.throws(() => resolveConfig({}, { port: 70000 }, undefined, "/cwd"), isBootError("CONFIG_INVALID", "port"));
  assert.throws(() => resolveConfig({}, { plugins: [] }, undefined, "/cwd"), isBootError("CONFIG_INVALID", "plugins"));
  // A wildcard is where a server listens, never where a client can reach it.
  for (const host of ["0.0.0.0", "::"]) {
    assert.throws(() => resolveConfig({}, { registry: { advertise: { host, port: 5 } } }, undefined, "/cwd"), isBootError("CONFIG_INVALID", "registry.advertise", "wildcard"));
  }
});

// ---- validation ---------------------------------------------------------------

test("validateConfig returns a valid config as it is", () => {
  const config = { port: 9000, limits: { maxFrameBytes: 10 } };
  assert.equal(validateConfig(config, "x"), config);
  assert.deepEqual(validateConfig({ port: undefined }, "x"), { port: undefined });
});

test("an unknown top-level key is CONFIG_INVALID naming the key and the source", () => {
  assert.throws(() => validateConfig({ prot: 8080 }, "rpc.config.ts"), isBootError("CONFIG_INVALID", '"prot"', "rpc.config.ts"));
  assert.throws(() => validateConfig({ port: 1, maxFrameBytes: 5 }, "x"), isBootError("CONFIG_INVALID", '"maxFrameBytes"'));
  assert.throws(() => validateConfig({ toString: 1 }, "x"), isBootError("CONFIG_INVALID", '"toString"'));
});

test("an unknown nested key is CONFIG_INVALID naming its full path", () => {
  assert.throws(() => validateConfig({ limits: { maxFrameByte: 5 } }, "x"), isBootError("CONFIG_INVALID", "limits.maxFrameByte"));
  assert.throws(() => validateConfig({ shutdown: { grace: 5 } }, "x"), isBootError("CONFIG_INVALID", "shutdown.grace"));
});

test("wrong types are CONFIG_INVALID naming the key", () => {
  const cases: Array<[unknown, string]> = [
    [{ host: 1 }, "host"],
    [{ host: "" }, "host"],
    [{ port: "8080" }, "port"],
    [{ port: -1 }, "port"],
    [{ port: 65536 }, "port"],
    [{ port: 1.5 }, "port"],
    [{ port: Number.NaN }, "port"],
    [{ port: null }, "port"],
    [{ workers: -1 }, "workers"],
    [{ workers: "4" }, "workers"],
    [{ plugins: "plugins/*.ts" }, "plugins"],
    [{ plugins: [] }, "plugins"],
    [{ plugins: ["ok/*.ts", 3] }, "plugins"],
    [{ plugins: [""] }, "plugins"],
    [{ limits: 5 }, "limits"],
    [{ limits: null }, "limits"],
    [{ limits: [] }, "limits"],
    [{ limits: { maxFrameBytes: "1" } }, "limits.maxFrameBytes"],
    [{ limits: { maxFrameBytes: 0 } }, "limits.maxFrameBytes"],
    [{ limits: { readTimeoutMs: 0 } }, "limits.readTimeoutMs"],
    [{ limits: { maxJsonDepth: 0.5 } }, "limits.maxJsonDepth"],
    [{ shutdown: { graceMs: -1 } }, "shutdown.graceMs"],
    [{ shutdown: true }, "shutdown"],
  ];
  for (const [config, key] of cases) {
    assert.throws(() => validateConfig(config, "x"), isBootError("CONFIG_INVALID", key), JSON.stringify(config));
  }
});

test("a config that is not an object is CONFIG_INVALID", () => {
  for (const value of [null, undefined, 42, "port=1", [], [{ port: 1 }]]) {
    assert.throws(() => validateConfig(value, "x"), isBootError("CONFIG_INVALID"), String(value));
  }
});

// ---- loading --------------------------------------------------------------------

test("loadConfig: a missing explicit path is CONFIG_NOT_FOUND naming the path", async () => {
  const cwd = await folder("missing");
  await assert.rejects(loadConfig("nope.config.ts", {}, cwd), isBootError("CONFIG_NOT_FOUND", join(cwd, "nope.config.ts")));
  await assert.rejects(loadConfig(join(cwd, "abs.mjs"), {}, cwd), isBootError("CONFIG_NOT_FOUND", join(cwd, "abs.mjs")));
});

test("loadConfig: a file with a syntax error is CONFIG_LOAD_FAILED naming the file", async () => {
  const cwd = await folder("syntax");
  const file = join(cwd, "broken.config.mjs");
  await writeFile(file, "export default { port: 1,, };\n");
  await assert.rejects(loadConfig(file, {}, cwd), isBootError("CONFIG_LOAD_FAILED", file));
  const ts = join(cwd, "broken.config.ts");
  await writeFile(ts, "export default { port: 1 as number,, };\n");
  await assert.rejects(loadConfig("broken.config.ts", {}, cwd), isBootError("CONFIG_LOAD_FAILED", ts));
});

test("loadConfig: a file that throws while loading is CONFIG_LOAD_FAILED naming the file", async () => {
  const cwd = await folder("throws");
  const file = join(cwd, "throws.config.mjs");
  await writeFile(file, 'throw new Error("boom");\n');
  await assert.rejects(loadConfig(file, {}, cwd), isBootError("CONFIG_LOAD_FAILED", file, "boom"));
});

test("loadConfig: a file without a default export, or with an unknown key, is CONFIG_INVALID naming the file", async () => {
  const cwd = await folder("invalid");
  const noDefault = join(cwd, "nodefault.mjs");
  await writeFile(noDefault, "export const port = 1;\n");
  await assert.rejects(loadConfig(noDefault, {}, cwd), isBootError("CONFIG_INVALID", noDefault));
  const unknown = join(cwd, "unknown.mjs");
  await writeFile(unknown, "export default { limits: { maxFrameByte: 10 } };\n");
  await assert.rejects(loadConfig(unknown, {}, cwd), isBootError("CONFIG_INVALID", unknown, "limits.maxFrameByte"));
});

test("loadConfig: a valid file is read, its folder is the plugin root, overrides win", async () => {
  const confDir = await folder("valid/conf");
  const cwd = await folder("valid/elsewhere");
  const file = join(confDir, "app.config.mjs");
  await writeFile(file, 'export default { port: 1234, workers: 1, plugins: ["h/*.js"], limits: { maxFrameBytes: 99 } };\n');

  const config = await loadConfig(file, {}, cwd);
  assert.equal(config.port, 1234);
  assert.equal(config.workers, 1);
  assert.deepEqual(config.plugins, ["h/*.js"]);
  assert.equal(config.limits.maxFrameBytes, 99);
  assert.equal(config.limits.readTimeoutMs, 10000);
  assert.equal(config.configFile, file);
  assert.equal(config.pluginRoot, confDir);

  const overridden = await loadConfig(file, { port: 7, plugins: ["cli/*.ts"] }, cwd);
  assert.equal(overridden.port, 7);
  assert.deepEqual(overridden.plugins, ["cli/*.ts"]);
  assert.equal(overridden.pluginRoot, cwd);
});

test("loadConfig: without a path, rpc.config.mjs in cwd is found; an empty folder gives the defaults", async () => {
  const empty = await folder("auto/empty");
  const defaults = await loadConfig(undefined, {}, empty);
  assert.equal(defaults.configFile, undefined);
  assert.equal(defaults.port, 8080);
  assert.equal(defaults.pluginRoot, empty);

  const withFile = await folder("auto/with");
  await writeFile(join(withFile, "rpc.config.mjs"), "export default { port: 4321 };\n");
  const found = await loadConfig(undefined, {}, withFile);
  assert.equal(found.configFile, join(withFile, "rpc.config.mjs"));
  assert.equal(found.port, 4321);
});

test("introspection.public: built-in names only, default [\"rpc.health\"]", () => {
  assert.deepEqual(resolveConfig({}, {}, undefined, "/cwd").introspection.public, ["rpc.health"]);
  const both = validateConfig({ introspection: { public: ["rpc.discover", "rpc.health"] } }, "test");
  assert.deepEqual(resolveConfig(both, {}, undefined, "/cwd").introspection.public, ["rpc.discover", "rpc.health"]);
  assert.deepEqual(resolveConfig(validateConfig({ introspection: { public: [] } }, "test"), {}, undefined, "/cwd").introspection.public, []);
  assert.throws(() => validateConfig({ introspection: { public: ["admin.secret"] } }, "test"), isBootError("CONFIG_INVALID", "introspection.public"));
  assert.throws(() => validateConfig({ introspection: { public: "rpc.health" } }, "test"), isBootError("CONFIG_INVALID", "introspection.public"));
});
