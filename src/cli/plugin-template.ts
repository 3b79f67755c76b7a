/**
 * The files `forkrpc new plugin` writes: a handler in the example plugins'
 * style (an @Rpc class with a zod schema and Infer), and a test that starts
 * a real server with that plugin only and calls it. Pure: text in, text out.
 */

export interface PluginNames {
  /** The method name, as given. */
  readonly method: string;
  /** The handler class: the name's parts in PascalCase ("user.get-by-id" -> "UserGetById"). */
  readonly className: string;
}

/** Letters, digits, dots, dashes and underscores; a letter first, a letter or digit last. */
export const METHOD_NAME = /^[A-Za-z](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;
export const MAX_NAME_LENGTH = 100;

export function namesOf(method: string): PluginNames {
  const className = method
    .split(/[._-]+/)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join("");
  return { method, className };
}

export function pluginSource({ method, className }: PluginNames): string {
  const schema = `${className}Params`;
  return `import { z } from "zod";
import { Rpc, type Infer } from "forkrpc";

// Written by \`forkrpc new plugin ${method}\`: a starting point. Change the
// schema, the handler and the description to what ${method} really does.

/** What ${method} accepts; anything else is answered INVALID_PARAMS before handle() runs. */
const ${schema} = z.object({
  name: z.string().min(1).max(100),
  shout: z.boolean().default(false),
});

@Rpc(${JSON.stringify(method)}, { description: "Says hello to a name.", params: ${schema} })
export class ${className} {
  handle(params: Infer<typeof ${schema}>) {
    const text = \`hello, \${params.name}\`;
    return { text: params.shout ? text.toUpperCase() : text };
  }
}
`;
}

export interface TestPaths {
  /** The plugin file, relative to the test file ("../../plugins/x.ts"). */
  readonly plugin: string;
  /** The project's serve() helper relative to the test file, or undefined to inline one. */
  readonly helpers: string | undefined;
}

export function testSource(names: PluginNames, paths: TestPaths): string {
  const { method } = names;
  const header = `/**
 * ${method} (${paths.plugin.replace(/^(\.\.\/)+/, "")}) against a real server: \`forkrpc serve\` with
 * this plugin only, on port 0, called through RpcClient.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { RpcClient } from "forkrpc/client";
`;
  const setup = paths.helpers === undefined ? inlineServe() : helperServe(paths.helpers);
  return `${header}${setup.imports}
const PLUGIN = fileURLToPath(new URL(${JSON.stringify(paths.plugin)}, import.meta.url));
${setup.code}
let client: RpcClient;
before(async () => {
  served = await serve(${setup.serveArgs});
  client = new RpcClient({ host: "127.0.0.1", port: served.port });
});
after(async () => {
  await client?.close();
  await served?.stop();
});

test(${JSON.stringify(`${method} says hello to a name`)}, async () => {
  assert.deepEqual(await client.call(${JSON.stringify(method)}, { name: "ada" }), { text: "hello, ada" });
});

test(${JSON.stringify(`${method} takes the optional params`)}, async () => {
  assert.deepEqual(await client.call(${JSON.stringify(method)}, { name: "ada", shout: true }), { text: "HELLO, ADA" });
});

test(${JSON.stringify(`${method} answers INVALID_PARAMS to params its schema refuses`)}, async () => {
  await assert.rejects(client.call(${JSON.stringify(method)}, { name: 42 }), { code: "INVALID_PARAMS" });
});
`;
}

function helperServe(helpers: string) {
  return {
    imports: `import { serve, type Served } from ${JSON.stringify(helpers)};\n`,
    code: `\nlet served: Served;`,
    serveArgs: `{ args: ["--plugins", PLUGIN], timeoutMs: 60_000 }`,
  };
}

/** For a project without test helpers: start the installed forkrpc command directly. */
function inlineServe() {
  return {
    imports: `import { spawn } from "node:child_process";
import { once } from "node:events";
import { dirname, join } from "node:path";
`,
    code: `
/** The installed forkrpc command, run with this node. */
const FORKRPC = join(dirname(fileURLToPath(import.meta.resolve("forkrpc/package.json"))), "bin/forkrpc.js");

/**
 * Starts \`forkrpc serve\` with this plugin only, on a free port; resolves once it is ready.
 * It runs in the plugin's folder, so the app's rpc.config.ts (its auth, middleware, port)
 * does not apply: this tests the plugin alone. Run it with
 * \`node --import forkrpc/register --test <this file>\`.
 */
async function serve(): Promise<{ port: number; stop(): Promise<void> }> {
  const proc = spawn(process.execPath, [FORKRPC, "serve", "--port", "0", "--workers", "0", "--plugins", PLUGIN], {
    cwd: dirname(PLUGIN),
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = once(proc, "exit");
  let out = "";
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(\`forkrpc serve was not ready in time:\\n\${out}\`)), 60_000);
    proc.stdout.on("data", (chunk) => {
      out += chunk;
      const ready = /forkrpc ready: .* on \\S+:(\\d+) /.exec(out);
      if (ready) {
        clearTimeout(timer);
        resolve(Number(ready[1]));
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(\`forkrpc serve exited before it was ready:\\n\${out}\`));
    });
  });
  return {
    port,
    async stop() {
      proc.kill("SIGTERM");
      await exited;
    },
  };
}

let served: { port: number; stop(): Promise<void> };`,
    serveArgs: "",
  };
}
