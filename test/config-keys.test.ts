/**
 * The key table (src/config/keys.ts) is the one place a config key is
 * defined: these tests hold the docs, the checks, the defaults and the serve
 * flags to it, so none of them can drift from it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolveConfig, validateConfig, type ConfigOverrides, type ForkrpcConfig, type ServerConfig } from "../src/config.ts";
import { isIntCheck } from "../src/config/checks.ts";
import { keyPaths, type AnyKey } from "../src/config/key.ts";
import { KEYS } from "../src/config/keys.ts";
import { configFlagOptions, overridesFrom } from "../src/cli/config-flags.ts";
import { SERVE_USAGE } from "../src/cli/serve.ts";
import type { AccessLogOptions } from "../src/middleware/access-log.ts";
import type { AuthOptions } from "../src/middleware/auth.ts";
import type { MiddlewareFn } from "../src/middleware/types.ts";

const KEY_PATHS = keyPaths(KEYS);

/** The rows of the first table under `heading` in a docs page: cells without their pipes. */
function tableRows(page: string, heading: string): string[][] {
  const text = readFileSync(new URL(`../docs/${page}`, import.meta.url), "utf8");
  const section = text.slice(text.indexOf(`\n${heading}\n`));
  assert.ok(section.length < text.length, `${page} has no "${heading}" section`);
  const lines = section.split("\n").slice(1);
  const start = lines.findIndex((l) => l.startsWith("|"));
  const end = lines.findIndex((l, i) => i > start && !l.startsWith("|"));
  // The header and its |---| line are not rows; "\|" inside a cell is not a separator.
  return lines.slice(start + 2, end).map((l) => l.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim()));
}

/** `a`, `b` in a docs cell. */
const codeSpans = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);

const get = (path: string): AnyKey => new Map(KEY_PATHS).get(path) as AnyKey;

/** Every key of docs/config.md's table (supervision.* expanded from operations.md's), with its row. */
function documentedKeys(): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const row of tableRows("config.md", "## Keys")) {
    for (const name of codeSpans(row[0] as string)) {
      if (name !== "supervision.*") rows.set(name, row);
    }
  }
  for (const row of tableRows("operations.md", "## Settings")) {
    for (const name of codeSpans(row[0] as string)) rows.set(`supervision.${name}`, row);
  }
  return rows;
}

test("docs/config.md (and operations.md for supervision.*) lists every key of the table, and no other", () => {
  const documented = [...documentedKeys().keys()].sort();
  assert.deepEqual(documented, KEY_PATHS.map(([path]) => path).sort());
});

test("docs give each key's range and default as the table does", () => {
  const rows = documentedKeys();
  for (const [path, key] of KEY_PATHS) {
    const row = rows.get(path) as string[];
    const supervision = path.startsWith("supervision.");
    const [range, fallback] = supervision ? [row[2], row[1]] : [row[1], row[2]];
    if (isIntCheck(key.check)) assert.ok(range?.includes(`${key.check.min} to ${key.check.max}`), `${path}: range ${key.check.min} to ${key.check.max} in ${range}`);
    const value = key.fallback();
    if (key.defaultVaries || value === undefined) continue;
    const shown = supervision ? String(value) : `\`${JSON.stringify(value)}\``;
    assert.ok(fallback?.includes(shown), `${path}: default ${shown} in ${fallback}`);
  }
});

test("docs/config.md's flag column names each key's flag, or none", () => {
  for (const [path, row] of documentedKeys()) {
    if (path.startsWith("supervision.")) continue;
    const { flag } = get(path);
    const cell = row[3] as string;
    if (flag === undefined) assert.match(cell, /^none/, path);
    else {
      assert.ok(cell.includes(`\`--${flag.name}\``), `${path}: --${flag.name} in ${cell}`);
      if (flag.short !== undefined) assert.ok(cell.includes(`\`-${flag.short}\``), `${path}: -${flag.short} in ${cell}`);
    }
  }
});

test("an empty config resolves every key of the table to its default", () => {
  const config = resolveConfig(validateConfig({}, "test"), {}, undefined, "/cwd") as unknown as Record<string, Record<string, unknown>>;
  for (const [path, key] of KEY_PATHS) {
    const value = path.split(".").reduce<unknown>((v, part) => (v as Record<string, unknown> | undefined)?.[part], config);
    assert.deepEqual(value, key.fallback(), path);
  }
});

test("an integer key takes its range's ends and refuses one past them, naming the key", () => {
  for (const [path, key] of KEY_PATHS) {
    if (!isIntCheck(key.check)) continue;
    const at = (n: number) => path.split(".").reduceRight<unknown>((inner, part) => ({ [part]: inner }), n);
    for (const n of [key.check.min, key.check.max]) assert.doesNotThrow(() => validateConfig(at(n), "test"), `${path} = ${n}`);
    for (const n of [key.check.min - 1, key.check.max + 1]) {
      assert.throws(() => validateConfig(at(n), "test"), new RegExp(`"${path.replace(".", "\\.")}" must be an integer from ${key.check.min} to ${key.check.max}`));
    }
  }
});

test("serve flags: one per key with a flag, parsed against the range the file is checked with", () => {
  const flagged = KEY_PATHS.filter(([, key]) => key.flag !== undefined);
  assert.deepEqual(Object.keys(configFlagOptions()).sort(), flagged.map(([, key]) => key.flag?.name).sort());
  for (const [path, key] of flagged) {
    const flag = key.flag as NonNullable<AnyKey["flag"]>;
    assert.ok(SERVE_USAGE.includes(`--${flag.name}`), `usage names --${flag.name}`);
    if (!isIntCheck(key.check)) continue;
    const { min, max } = key.check;
    const at = (n: number) => path.split(".").reduceRight<unknown>((inner, part) => ({ [part]: inner }), n);
    assert.deepEqual(overridesFrom({ [flag.name]: String(max) }), at(max));
    assert.deepEqual(overridesFrom({ [flag.name]: String(min) }), at(min));
    assert.throws(() => overridesFrom({ [flag.name]: String(max + 1) }), { name: "UsageError", message: `--${flag.name} must be an integer from ${min} to ${max}, got "${max + 1}"` });
  }
  assert.deepEqual(overridesFrom({ plugins: ["a/*.ts", "b/*.ts"], "pid-file": "x.pid", host: "::1" }), { plugins: ["a/*.ts", "b/*.ts"], pidFile: "x.pid", host: "::1" });
  assert.deepEqual(overridesFrom({ "tls-cert": "c.pem", "tls-key": "k.pem" }), { tls: { cert: "c.pem", key: "k.pem" } });
});

test("a flag of a grouped key wins over the file's, and its path is relative to the current folder", () => {
  const file = validateConfig({ tls: { cert: "file.pem", key: "key.pem", minVersion: "TLSv1.3" } }, "test");
  const config = resolveConfig(file, overridesFrom({ "tls-cert": "flag.pem" }), "/app/rpc.config.ts", "/cwd");
  assert.deepEqual(config.tls, { cert: "/cwd/flag.pem", key: "/app/key.pem", ca: undefined, clientAuth: "none", minVersion: "TLSv1.3" });
});

test("flags of nested keys: --etcd, --service and --advertise set registry.*, and win over the file key by key", () => {
  const overrides = overridesFrom({ etcd: ["http://a:2379", "http://b:2379"], service: "orders", advertise: "[::1]:9000" });
  assert.deepEqual(overrides, { registry: { etcd: { endpoints: ["http://a:2379", "http://b:2379"] }, service: "orders", advertise: { host: "::1", port: 9000 } } });
  assert.throws(() => overridesFrom({ advertise: "nohost" }), { name: "UsageError", message: '--advertise must be HOST:PORT, got "nohost"' });
  const config = resolveConfig({ registry: { etcd: { prefix: "/x", endpoints: ["http://file:2379"] }, weight: 3 } }, overrides, undefined, "/");
  assert.deepEqual(config.registry, {
    etcd: { endpoints: ["http://a:2379", "http://b:2379"], prefix: "/x", leaseTtlS: 10 },
    service: "orders",
    advertise: { host: "::1", port: 9000 },
    weight: 3,
  });
  assert.throws(() => resolveConfig({}, overridesFrom({ etcd: ["ftp://a"] }), undefined, "/"), /"registry\.etcd\.endpoints" must be a non-empty array of etcd client URLs/);
  assert.throws(() => resolveConfig({}, overridesFrom({ service: "a/b" }), undefined, "/"), /"registry\.service" must be a name/);
});

test("a flag's help names its key's default where that is one fixed word", () => {
  for (const [path, key] of KEY_PATHS) {
    const value = key.fallback();
    if (key.flag === undefined || key.defaultVaries || value === undefined || Array.isArray(value)) continue;
    assert.ok(key.flag.help.includes(String(value)), `--${key.flag.name} help names ${path}'s default ${String(value)}`);
  }
});

// ---- the derived types keep the shapes that were declared by hand before the table ----

type Equal<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
const shapes: Array<true> = [
  true satisfies Equal<ForkrpcConfig["accept"], "shared" | "round-robin" | undefined>,
  true satisfies Equal<ForkrpcConfig["introspection"], { discover?: boolean; health?: boolean; public?: Array<"rpc.discover" | "rpc.health"> } | undefined>,
  true satisfies Equal<ForkrpcConfig["middleware"], MiddlewareFn[] | undefined>,
  true satisfies Equal<ForkrpcConfig["accessLog"], boolean | AccessLogOptions | undefined>,
  true satisfies Equal<ServerConfig["introspection"], { readonly discover: boolean; readonly health: boolean; readonly public: readonly string[] }>,
  true satisfies Equal<ServerConfig["plugins"], readonly string[]>,
  true satisfies Equal<ServerConfig["auth"], AuthOptions | undefined>,
  true satisfies Equal<ServerConfig["pidFile"], string | undefined>,
  true satisfies Equal<ServerConfig["accessLog"], boolean | AccessLogOptions>,
  true satisfies Equal<ServerConfig["supervision"], Readonly<Required<NonNullable<ForkrpcConfig["supervision"]>>>>,
  true satisfies Equal<ServerConfig["configFile"], string | undefined>,
  true satisfies Equal<keyof ConfigOverrides, "host" | "port" | "workers" | "plugins" | "pidFile" | "accept" | "threads" | "registry" | "admin" | "tls">,
  true satisfies Equal<ConfigOverrides["threads"], { perWorker?: number } | undefined>,
  true satisfies Equal<keyof NonNullable<ConfigOverrides["registry"]>, "etcd" | "service" | "advertise">,
  true satisfies Equal<NonNullable<ConfigOverrides["registry"]>["etcd"], { endpoints?: string[] } | undefined>,
  true satisfies Equal<ConfigOverrides["port"], number | undefined>,
  true satisfies Equal<keyof NonNullable<ConfigOverrides["tls"]>, "cert" | "key" | "ca" | "clientAuth">,
];
void shapes;
