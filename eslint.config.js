// Lint: typescript-eslint's recommended rules, plus the import directions of
// ../shared/STYLE.md held by no-restricted-imports.
import { readdirSync } from "node:fs";
import tseslint from "typescript-eslint";

const FOLDERS = ["protocol", "request", "middleware", "config", "decorators", "threads", "plugins", "metrics", "server", "boot", "admin", "registry", "cluster", "client", "cli"];
// Every file in src/ itself, read from the disk: a new one is refused to every folder until a row allows it.
const ROOT_FILES = readdirSync(new URL("src/", import.meta.url)).filter((f) => f.endsWith(".ts"));

export default tseslint.config(
  { ignores: ["dist/**", "**/node_modules/**", "bench/.build/**", ".stryker-tmp/**", "reports/**"] },
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-unsafe-function-type": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
    },
  },
  // A next() neither awaited nor returned (issue 10, docs/middleware.md):
  // type-aware, so only where middleware is written (it costs about 5 s of
  // CPU on this repo's lint).
  {
    files: ["plugins/**/*.ts", "src/middleware/**/*.ts", "test/fixtures/**/*.ts"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: { "@typescript-eslint/no-floating-promises": "error" },
  },
  // Each folder lists what it may import; everything else of ours is refused.
  // Lowest first: protocol, request, middleware, decorators, config.ts,
  // plugins, server, boot, cluster, cli (client beside them, on protocol
  // only). scripts/check-cycles.js, run by the tests, holds "no cycle at all".
  ...directions({
    "src/protocol/**": [[], "protocol/ imports nothing of ours"],
    "src/request/**": [["protocol", "log.ts", "params-input.ts"], "request/ holds what every layer shares about a request: it imports only protocol/, log.ts and params-input.ts"],
    "src/middleware/**": [["protocol", "request", "errors.ts", "log.ts"], "middleware/ must not import server/, plugins/ or decorators/: the request types it needs are in request/"],
    "src/decorators/**": [["request", "middleware"], "decorators only record metadata"],
    "src/config/**": [["protocol", "middleware", "registry", "descriptor-limit.ts"], "config/ is the one table of config keys, their checks and types: it sits below config.ts"],
    "src/threads/**": [["protocol", "request", "middleware", "errors.ts", "log.ts", "node-flags.ts"], "threads/ runs offloaded calls on a pool: the thread's entry, which loads plugins, is boot/thread.ts"],
    "src/plugins/**": [["protocol", "request", "middleware", "decorators", "threads", "config.ts", "errors.ts", "log.ts"], "plugins/ loads and registers: it never imports server/, boot/ or the process roles"],
    "src/metrics/**": [["protocol"], "metrics/ records, totals and prints figures: it knows only the wire's codes"],
    "src/admin/**": [["metrics", "errors.ts", "log.ts"], "admin/ serves what it is given over HTTP: cluster/ wires it to the master"],
    "src/server/**": [["protocol", "request", "middleware", "plugins", "metrics", "config.ts", "errors.ts", "log.ts", "descriptor-limit.ts"], "server/ serves a method table: booting is boot/'s, process roles are cluster/'s"],
    "src/boot/**": [["server", "plugins", "threads", "decorators", "middleware", "request", "metrics", "config.ts", "errors.ts", "log.ts"], "boot/ wires plugins into a server (and into a handler thread: boot/thread.ts)"],
    "src/registry/**": [["errors.ts"], "registry/ talks to the service registry (etcd) and knows nothing of servers, clients or the wire"],
    "src/cluster/**": [["config", "boot", "server", "plugins", "registry", "metrics", "admin", "config.ts", "errors.ts", "log.ts", "descriptor-limit.ts", "node-flags.ts"], "cluster/ starts servers and never parses frames"],
    "src/client/**": [["protocol", "registry", "errors.ts", "params-input.ts"], "the client knows servers only through the wire: it imports protocol/, errors.ts and the params-input types"],
    "src/cli/**": [["config", "client", "cluster", "registry", "admin", "boot", "plugins", "protocol", "config.ts", "errors.ts", "log.ts"], "cli/ parses arguments and calls the library; it never reaches into server/ or middleware/"],
    "src/*.ts": [["config", "protocol", "request", "middleware", "errors.ts", "log.ts", "descriptor-limit.ts", "config.ts", "config-schema.ts", "params-input.ts"], "a file in src/ itself sits below plugins/ and server/"],
    "src/{errors,log,descriptor-limit,params-input}.ts": [["protocol"], "errors.ts, log.ts and the type helpers sit just above protocol/"],
    "src/{config,config-schema}.ts": [["config", "protocol", "middleware", "errors.ts", "log.ts", "descriptor-limit.ts", "config.ts", "config-schema.ts"], "config.ts sits below plugins/ and server/, which read it"],
    "src/index.ts": [["request", "decorators", "middleware", "plugins", "client", "config.ts", "errors.ts", "params-input.ts"], "index.ts re-exports the public API only"],
  }),
);

/** The import patterns of ours a file under `files` may not use: every folder and root file not allowed. */
function refused(files, allowed) {
  const inRoot = /^src\/[^/]*$/.test(files);
  const prefixes = inRoot ? ["./"] : ["../", "../../"];
  const own = inRoot ? undefined : files.split("/")[1];
  const folders = FOLDERS.filter((d) => d !== own && !allowed.includes(d));
  const rootFiles = ROOT_FILES.filter((f) => !allowed.includes(f));
  return prefixes.flatMap((p) => [...folders.map((d) => `${p}${d}/*`), ...rootFiles.map((f) => `${p}${f}`)]);
}

/** One no-restricted-imports rule per folder; inside src nothing but index.ts imports the package by name. */
function directions(table) {
  return Object.entries(table).map(([files, [allowed, message]]) => ({
    files: [files],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [{ name: "forkrpc", message: "inside src, import the module itself, not the package" }],
          patterns: [{ group: refused(files, allowed), message }],
        },
      ],
      // no-restricted-imports sees static imports only: the same refusals for import("...").
      "no-restricted-syntax": ["error", { selector: `ImportExpression[source.value=${dynamicRefused(files, allowed)}]`, message }],
    },
  }));
}

/** refused() as one esquery regex over an import() path ("/" written \x2F: esquery ends a regex at a slash). */
function dynamicRefused(files, allowed) {
  const alternatives = refused(files, allowed).map((pattern) => {
    const folder = pattern.endsWith("/*");
    const text = (folder ? pattern.slice(0, -1) : pattern).replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replaceAll("/", "\\x2F");
    return folder ? text : `${text}$`;
  });
  return `/^(?:${alternatives.join("|")})/`;
}
