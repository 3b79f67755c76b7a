/**
 * `forkrpc new plugin <name>`: writes plugins/<name>.ts and its test from
 * plugin-template.ts. It never overwrites: if either file exists, it writes
 * neither and names the one in the way.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve, sep } from "node:path";
import { parseFlags, UsageError } from "./args.ts";
import { MAX_NAME_LENGTH, METHOD_NAME, namesOf, pluginSource, testSource } from "./plugin-template.ts";

export const NEW_USAGE = `forkrpc new plugin <name> [--dir DIR] [--test-dir DIR]

  <name>         the method name: letters, digits, dots, dashes, underscores, starting
                 with a letter ("greet", "user.get-by-id": class UserGetById)
  --dir          where the plugin goes (default plugins)
  --test-dir     where its test goes (default test/plugins)`;

const NEW_FLAGS = {
  dir: { type: "string" },
  "test-dir": { type: "string" },
} as const;

/** The project's serve() helper, if it has one (forkrpc's own repository does). */
const HELPERS = "test/helpers/server.ts";

export async function newCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, NEW_FLAGS, true);
  const [kind, name, ...extra] = positionals;
  if (kind !== "plugin") throw new UsageError(kind === undefined ? "new needs what to make: forkrpc new plugin <name>" : `cannot make "${kind}": only forkrpc new plugin <name>`);
  if (name === undefined) throw new UsageError("new plugin needs a name: forkrpc new plugin <name>");
  if (extra.length > 0) throw new UsageError(`new plugin takes one name (got also "${extra[0]}")`);
  if (!METHOD_NAME.test(name) || name.length > MAX_NAME_LENGTH) {
    throw new UsageError(`"${name}" is not a method name: use letters, digits, dots, dashes and underscores, a letter first and no separator last`);
  }
  const cwd = process.cwd();
  const pluginFile = resolve(cwd, (values.dir as string | undefined) ?? "plugins", `${name}.ts`);
  const testFile = resolve(cwd, (values["test-dir"] as string | undefined) ?? "test/plugins", `${name}.test.ts`);
  const taken = [pluginFile, testFile].filter((file) => existsSync(file));
  if (taken.length > 0) {
    process.stderr.write(`forkrpc: ${taken.map((f) => shown(cwd, f)).join(" and ")} already exist${taken.length === 1 ? "s" : ""}; not overwriting (nothing was written)\n`);
    return 1;
  }
  const names = namesOf(name);
  const helpers = join(cwd, HELPERS);
  const testText = testSource(names, {
    plugin: importPath(dirname(testFile), pluginFile),
    helpers: existsSync(helpers) ? importPath(dirname(testFile), helpers) : undefined,
  });
  write(pluginFile, pluginSource(names));
  write(testFile, testText);
  process.stdout.write(`wrote ${shown(cwd, pluginFile)}\nwrote ${shown(cwd, testFile)}\n`);
  if (!resolvable("zod", cwd)) process.stderr.write("note: the plugin imports zod, which is not installed here (npm install zod)\n");
  process.stdout.write(`try it: forkrpc serve, then forkrpc call ${name} '{"name":"ada"}'\n`);
  process.stdout.write(`test it: node --import forkrpc/register --test ${shown(cwd, testFile)}\n`);
  return 0;
}

/** Creates the file, failing rather than replacing one that appeared meanwhile. */
function write(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text, { flag: "wx" });
}

/** A path as the user would write it: relative when under the current folder. */
function shown(cwd: string, file: string): string {
  const path = relative(cwd, file);
  return path.startsWith("..") ? file : path;
}

/** A relative import specifier from a folder to a file, with forward slashes. */
function importPath(fromDir: string, file: string): string {
  const path = relative(fromDir, file).split(sep).join("/");
  return path.startsWith(".") ? path : `./${path}`;
}

function resolvable(pkg: string, cwd: string): boolean {
  try {
    createRequire(join(cwd, "package.json")).resolve(pkg);
    return true;
  } catch {
    return false;
  }
}
